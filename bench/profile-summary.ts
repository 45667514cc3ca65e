/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function, and total
 * (inclusive) time per function of this library's `src/`.
 */
import { readFile } from "node:fs/promises";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of the profile. */
export interface HotSpot {
  name: string;
  /** Share of all samples, 0–1. */
  share: number;
}

/** The heaviest functions of a profile by self time, and `src/` functions by total time. */
export interface ProfileSummary {
  totalMs: number;
  bySelf: HotSpot[];
  librarySelfShare: number;
  libraryByTotal: HotSpot[];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "");
  const short = file.replace(/^.*\/(src|bench)\//, "$1/");
  const where = short === "" ? "" : lineNumber > 0 ? `${short}:${lineNumber + 1}` : short;
  return `${functionName || "(anonymous)"} ${where}`.trim();
}

const isLibrary = (node: ProfileNode): boolean =>
  /\/src\//.test(node.callFrame.url) && !node.callFrame.url.includes("node_modules");

/** Reads and summarises the profile at `path`, keeping the `top` heaviest entries per list. */
export async function summariseProfile(path: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let librarySelf = 0;
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const name = label(node);
    self.set(name, (self.get(name) ?? 0) + 1);
    if (isLibrary(node)) librarySelf += 1;

    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (frame === undefined || !isLibrary(frame)) continue;
      const frameName = label(frame);
      if (seen.has(frameName)) continue;
      seen.add(frameName);
      total.set(frameName, (total.get(frameName) ?? 0) + 1);
    }
  }

  const count = profile.samples.length || 1;
  const rank = (map: Map<string, number>): HotSpot[] =>
    [...map.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, share: n / count }));
  return {
    totalMs: profile.timeDeltas.reduce((sum, d) => sum + d, 0) / 1000,
    bySelf: rank(self),
    librarySelfShare: librarySelf / count,
    libraryByTotal: rank(total),
  };
}

/** The summary as plain text lines. */
export function formatProfile(summary: ProfileSummary): string[] {
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)} %`;
  return [
    `profile: ${summary.totalMs.toFixed(0)} ms sampled;` +
      ` self time in src/: ${pct(summary.librarySelfShare)}`,
    "self time:",
    ...summary.bySelf.map((h) => `  ${pct(h.share)}  ${h.name}`),
    "total time of src/ functions:",
    ...summary.libraryByTotal.map((h) => `  ${pct(h.share)}  ${h.name}`),
  ];
}
