/** A running part of the product (`api`, `cdc`, `connectors`): started by `stayos start`, stopped on SIGINT/SIGTERM. */
export interface Part {
  name: string;
  stop(): Promise<void>;
}

export const PART_NAMES = ['api', 'cdc', 'connectors'] as const;
export type PartName = (typeof PART_NAMES)[number];
