// ESLint (typescript-eslint) with the import boundaries of the architecture (docs/architecture
// in the README; issue 17): core/ is the bottom; the engines — cdc/, inbound/, connectors/outbound/
// — import no OTA folder and nothing of the start-up layers; an OTA folder imports no other OTA
// (the OpenTravel protocol and the sandbox kit are shared) and nothing of the start-up layers; the
// start-up layers (api/, cli/, connectors/index.ts, registry.ts, demo.ts) do the wiring. No cycles.
// Layout is Prettier's (eslint-config-prettier turns the style rules off); `npm run lint` runs both.
import fs from 'node:fs';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// The OTA folders: those holding an adapter.ts (a new OTA is under the rules without editing this file).
const OTAS = fs
  .readdirSync('connectors', { withFileTypes: true })
  .filter((d) => d.isDirectory() && fs.existsSync(`connectors/${d.name}/adapter.ts`))
  .map((d) => d.name);
const WIRING = ['./api', './cli', './connectors/index.ts', './connectors/registry.ts', './connectors/demo.ts'];
const otaFolders = (except = []) => OTAS.filter((o) => !except.includes(o)).map((o) => `./connectors/${o}`);

export default tseslint.config(
  { ignores: ['node_modules/**', '.stayos/**', 'docs/**', 'test/pubsub-fake/**', 'bench/results/**', '**/*.xsd'] },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './core',
              from: ['./api', './cdc', './connectors', './inbound', './cli', './bench', './test'],
              message: 'core/ is the bottom layer: it imports nothing above it.',
            },
            {
              target: './cdc',
              from: ['./connectors', './inbound', './api', './cli'],
              message: 'the CDC engine gets its channels from the start-up code, never from connectors/ or above.',
            },
            {
              target: './inbound',
              from: ['./connectors', './api', './cli', './cdc'],
              message: 'the inbound engine sees adapters only through InboundRules and what the start-up code passes.',
            },
            {
              target: './connectors/outbound',
              from: [...otaFolders(), ...WIRING, './connectors/sandbox', './inbound', './cdc'],
              message: 'the outbound engine sees only the adapter interface (connectors/adapter.ts).',
            },
            ...OTAS.map((o) => ({
              target: `./connectors/${o}`,
              from: [...otaFolders([o, 'opentravel']), ...WIRING, './cdc'],
              message: 'an OTA folder imports the engines, core/, the OpenTravel protocol and the sandbox kit: never another OTA or the start-up layers.',
            })),
            { target: './connectors/adapter.ts', from: [...otaFolders(), ...WIRING], message: 'the adapter interface names no OTA.' },
            { target: './api', from: ['./cli'], message: 'the API does not import the CLI.' },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['api/dashboard/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        localStorage: 'readonly',
        fetch: 'readonly',
        location: 'readonly',
        history: 'readonly',
        uPlot: 'readonly',
        confirm: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URLSearchParams: 'readonly',
        console: 'readonly',
      },
    },
  },
  prettier,
);
