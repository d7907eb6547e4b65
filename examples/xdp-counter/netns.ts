/**
 * The throwaway network the xdp-counter example counts packets on: a
 * network namespace with one end of a veth pair (10.199.a.b/30) and the
 * other end ("host side", no address) in the current namespace, plus a
 * traffic source inside the namespace. Nothing on the host gets an address
 * or a route; `remove()` deletes it all (deleting the namespace deletes
 * the veth pair).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";

/** The namespace, its veth pair and addresses. */
export interface TestNet {
  /** Namespace name, `tsbpf-xdp-<pid>`. */
  readonly ns: string;
  /** Host-side veth (XDP attaches here). */
  readonly hostIf: string;
  /** Address of the namespace end. */
  readonly nsAddr: string;
  /** The (unassigned) peer address the pings go to. */
  readonly peerAddr: string;
  /** Starts sending packets from inside the namespace to the host side. */
  startTraffic(): void;
  /** Stops the traffic and deletes the namespace and the veth pair. */
  remove(): void;
}

function ip(...args: string[]): string {
  return execFileSync("ip", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function hasCommand(name: string): boolean {
  return ["/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"].some((d) =>
    existsSync(d + name),
  );
}

/** Creates the namespace and veth pair for process `pid`. */
export function createTestNet(pid: number): TestNet {
  if (!hasCommand("ip") || !hasCommand("sysctl")) {
    throw new Error(
      "needs the 'ip' and 'sysctl' commands (apt-get install iproute2 procps)",
    );
  }
  const ns = `tsbpf-xdp-${pid}`;
  const hostIf = `txdp${pid}`;
  const nsIf = `txdp${pid}p`;
  // One /30 per pid: 10.199.a.b with b a multiple of 4.
  const a = (pid >> 6) & 255;
  const b = (pid & 63) * 4;
  const nsAddr = `10.199.${a}.${b + 1}`;
  const peerAddr = `10.199.${a}.${b + 2}`;
  const children: ChildProcess[] = [];
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const c of children) c.kill("SIGKILL");
    try {
      ip("link", "del", hostIf);
    } catch {
      // already gone with the namespace
    }
    try {
      ip("netns", "del", ns);
    } catch {
      // never created
    }
  };
  try {
    ip("netns", "add", ns);
    ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
    ip("link", "set", nsIf, "netns", ns);
    // Packets reaching the host side are counted, then must go nowhere.
    execFileSync("sysctl", ["-qw", `net.ipv4.conf.${hostIf}.forwarding=0`]);
    ip("link", "set", hostIf, "up");
    ip("-n", ns, "addr", "add", `${nsAddr}/30`, "dev", nsIf);
    ip("-n", ns, "link", "set", nsIf, "up");
    ip("-n", ns, "link", "set", "lo", "up");
    // The peer address has no owner: a static neighbour entry sends the
    // pings to the host side's MAC without waiting for ARP replies.
    const mac = /link\/ether ([0-9a-f:]+)/.exec(
      ip("link", "show", hostIf),
    )?.[1];
    if (mac)
      ip("-n", ns, "neigh", "replace", peerAddr, "lladdr", mac, "dev", nsIf);
  } catch (e) {
    remove();
    throw e;
  }
  return {
    ns,
    hostIf,
    nsAddr,
    peerAddr,
    startTraffic() {
      const cmd = hasCommand("ping")
        ? [
            "ip",
            "netns",
            "exec",
            ns,
            "ping",
            "-q",
            "-i",
            "0.2",
            "-s",
            "56",
            peerAddr,
          ]
        : // No ping: UDP datagrams through bash's /dev/udp.
          [
            "ip",
            "netns",
            "exec",
            ns,
            "bash",
            "-c",
            `while :; do echo tsbpf > /dev/udp/${peerAddr}/9; sleep 0.2; done`,
          ];
      children.push(spawn(cmd[0]!, cmd.slice(1), { stdio: "ignore" }));
    },
    remove,
  };
}
