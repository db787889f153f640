/** Memory readings of a server under a fixed request mix. */

export interface MemPoint {
  label: string;
  requests: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}
export interface RssRun {
  name: string;
  points: MemPoint[];
  samples: Array<[number, number]>;
  statuses: Record<string, number>;
  seconds: number;
}
