/**
 * One line of the kernel's trace_pipe, parsed: where `bpf_printk` output
 * arrives. Pure: no FFI, runs anywhere.
 */

/** A line of trace_pipe (see {@link parseTraceLine}). */
export interface TraceLine {
  /** The line as the kernel wrote it, without its newline. */
  readonly raw: string;
  /**
   * The text after the event's name: what a BPF program gave `bpf_printk`
   * on a `bpf_trace_printk` line. The whole line when it is not in the
   * trace_pipe format (e.g. the next line of a message that held a newline).
   */
  readonly message: string;
  /**
   * The event: `"bpf_trace_printk"` for `bpf_printk`, a tracepoint's name
   * (`"sched_switch"`), or the function of a kernel `trace_printk`.
   * Undefined on a line without one.
   */
  readonly event?: string;
  /**
   * The task's command name (`comm`), or `"<...>"` when the kernel did
   * not record it. Undefined, as every field below, on an unparsed line.
   */
  readonly task?: string;
  /** The thread id (the kernel's pid) that was running. */
  readonly pid?: number;
  /** The thread group id (a process's pid), with the `record-tgid` option only. */
  readonly tgid?: number;
  /** The CPU the line was recorded on. */
  readonly cpu?: number;
  /**
   * The irq-info column (`irqs-off`, `need-resched`, `hardirq/softirq`,
   * `preempt-depth`, `migrate-disable`, e.g. `"d..1."`), or `""` with the
   * `noirq-info` option.
   */
  readonly flags?: string;
  /**
   * Seconds, from the trace clock (`trace_clock`; `local` by default: since
   * boot, as CLOCK_MONOTONIC roughly). With a counter clock (`counter`,
   * `x86-tsc`) the kernel prints a raw count, given as it is.
   */
  readonly timestamp?: number;
  /**
   * Events the kernel dropped on `cpu` before the next line (a
   * `CPU:N [LOST M EVENTS]` line: the buffer was full, nobody read it);
   * -1 when it did not count them (`CPU:N [LOST EVENTS]`).
   */
  readonly lost?: number;
}

// kernel/trace/trace_output.c trace_print_context():
//   "%16s-%-7d " comm, pid; "(%7d) " tgid or "(-------) " with record-tgid;
//   "[%03d] " cpu; the irq-info flags and a space with irq-info;
//   " %5lu.%06lu" (ns clocks) or " %12llu" (counters); ": ".
// The comm is matched lazily: the first "-pid [cpu] time: " ends it, so a
// comm with dashes or spaces parses, and a message that looks like a
// context does not move the split. Flags never start with a digit (their
// first column is 'd', 'D', 'X' or '.'), timestamps always do.
const CONTEXT =
  /^\s*(\S.*?)?-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?\[(\d+)\]\s+(?:([^\s\d]\S*)\s+)?(\d+(?:\.\d+)?): /;
// The event's own output starts with its name: "bpf_trace_printk: ...";
// a kernel trace_printk prints its caller ("%ps: ").
const EVENT = /^([A-Za-z_][\w.]*):(?: |$)/;
// kernel/trace/trace.c print_trace_line(): "CPU:%d [LOST %lu EVENTS]\n",
// or "CPU:%d [LOST EVENTS]\n" when the count is unknown.
const LOST = /^CPU:(\d+) \[LOST (?:(\d+) )?EVENTS\]$/;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Parses one trace_pipe line (without its newline, or with it: it is cut).
 * Never throws: a line it cannot read keeps only `raw` and `message`.
 */
export function parseTraceLine(line: string): TraceLine {
  const raw = line.endsWith("\n") ? line.slice(0, -1) : line;
  const m = CONTEXT.exec(raw);
  if (m === null) {
    const lost = LOST.exec(raw);
    if (lost !== null) {
      return {
        raw,
        message: raw,
        cpu: Number(lost[1]),
        lost: lost[2] === undefined ? -1 : Number(lost[2]),
      };
    }
    return { raw, message: raw };
  }
  const rest = raw.slice(m[0].length);
  const ev = EVENT.exec(rest);
  const parsed: Mutable<TraceLine> = {
    raw,
    message: ev ? rest.slice(ev[0].length) : rest,
    task: m[1] ?? "",
    pid: Number(m[2]),
    cpu: Number(m[4]),
    flags: m[5] ?? "",
    timestamp: Number(m[6]),
  };
  if (ev) parsed.event = ev[1]!;
  if (m[3] !== undefined && /^\d/.test(m[3])) parsed.tgid = Number(m[3]);
  return parsed;
}

/**
 * Splits text read from trace_pipe into lines, keeping a trailing partial
 * line (and a partial UTF-8 character) for the next chunk. Skips empty
 * lines: the kernel ends each event with a newline, so a message that ends
 * with its own (`bpf_printk("...\n")`) leaves one.
 */
export class TraceLineSplitter {
  readonly #decoder = new TextDecoder("utf-8", { fatal: false });
  #partial = "";

  /** The complete lines in `chunk` (after what earlier chunks left), parsed. */
  push(chunk: Uint8Array): TraceLine[] {
    const text = this.#partial + this.#decoder.decode(chunk, { stream: true });
    const parts = text.split("\n");
    this.#partial = parts.pop()!;
    const lines: TraceLine[] = [];
    for (const p of parts) if (p !== "") lines.push(parseTraceLine(p));
    return lines;
  }
}
