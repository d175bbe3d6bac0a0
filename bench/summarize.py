#!/usr/bin/env python3
"""Markdown summary of one bench/run.sh run (reads $PERF_TMP/perf/...).

  python3 bench/summarize.py [PERF_TMP]

Tables: calls/s side by side (direct / kamailio / switchboard) with the shared pass rule,
REGISTER/s, relayed media. The standard table comes from ../shared/perf/summarize_sip.py,
invoked on the same JSON lines; the extra columns here are INVITE->200 latency (sipp's
ResponseTimeRepartition buckets for every topology; exact per-call p99 for Switchboard from
sipp -trace_rtt) and the box's load.
"""
import sys, os, json, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "perf"))
base = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PERF_TMP", "/tmp")
RUNS = os.path.join(base, "perf", "sippruns")
BUCKETS = ["<10", "<20", "<30", "<40", "<50", "<100", "<150", "<200", ">=200"]


def load(mode):
    p = os.path.join(RUNS, f"results_{mode}.jsonl")
    if not os.path.exists(p):
        return []
    return [json.loads(l) for l in open(p) if l.startswith("{")]


def passed(d):
    return 100.0 * d["ok"] / d["calls"] >= 99 and d["retrans"] < 0.01 * d["calls"]


def buckets(mode, rate):
    """INVITE->200 repartition from sipp's stat CSV: (share < 10 ms %, p99 bucket label)."""
    p = os.path.join(RUNS, f"{mode}_{rate}.csv")
    if not os.path.exists(p):
        return None, None
    lines = open(p).read().strip().splitlines()
    head, last = lines[0].split(";"), lines[-1].split(";")
    idx = {n: i for i, n in enumerate(head)}
    counts = []
    for b in BUCKETS:
        i = idx.get("ResponseTimeRepartition1_" + b)
        counts.append(int(last[i]) if i is not None and i < len(last) and last[i].isdigit() else 0)
    total = sum(counts)
    if not total:
        return None, None
    acc = 0
    p99 = None
    for b, c in zip(BUCKETS, counts):
        acc += c
        if acc >= 0.99 * total:
            p99 = b + " ms"
            break
    return round(100.0 * counts[0] / total, 1), p99


def fmt(v, nd=0):
    if v is None:
        return "-"
    return f"{v:.{nd}f}"


def main():
    out = []
    info = os.path.join(base, "perf", "machine.txt")
    if os.path.exists(info):
        out.append("### Machine\n")
        out.append("```\n" + open(info).read().strip() + "\n```\n")

    cps_modes = ["direct", "kam-sf", "sb"]
    rows = [d for m in cps_modes for d in load(m)]
    reg_rows = load("register") + load("sb-register")
    if rows or reg_rows:
        out.append("### Calls per second (1 s hold) and REGISTER/s — shared summarize_sip.py\n")
        lines = "\n".join(json.dumps(d) for d in rows + reg_rows) + "\n"
        r = subprocess.run([sys.executable, os.path.join(SHARED, "summarize_sip.py")], input=lines,
                           capture_output=True, text=True, env=dict(os.environ, PERF_TMP=base))
        out.append(r.stdout)
        if r.returncode:
            out.append("(summarize_sip.py failed: " + r.stderr.strip().splitlines()[-1] + ")\n")

    if rows:
        out.append("### Calls per second: latency and load\n")
        out.append("| SUT / mode | target | completed % | retrans % | INVITE→200 < 10 ms (sipp buckets) | p99 bucket | exact p50 / p99 / max ms | SUT CPU µs/call | box busy % of 2 cores | SIP socket drops | pass |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for d in rows:
            lt10, p99b = buckets(d["mode"], d["rate_target"])
            exact = "-"
            if "rtt_p99_ms" in d:
                exact = f'{d["rtt_p50_ms"]:.0f} / {d["rtt_p99_ms"]:.0f} / {d["rtt_max_ms"]:.0f}'
            cpu = 1e6 * d["kam_cpu_s"] / max(1, d["ok"]) if d.get("kam_cpu_s") is not None else None
            out.append(f'| {d["mode"]} | {d["rate_target"]} | {100.0 * d["ok"] / d["calls"]:.2f} | '
                       f'{100.0 * d["retrans"] / d["calls"]:.2f} | {fmt(lt10, 1)} % | {p99b or "-"} | {exact} | '
                       f'{fmt(cpu)} | {d.get("box_busy_pct_of_2cores", "-")} | {d.get("sb_sip_udp_drops", "-")} | '
                       f'{"yes" if passed(d) else "NO"} |')
        best = {}
        for d in rows:
            if passed(d):
                best[d["mode"]] = max(best.get(d["mode"], 0), d["rate_target"])
        out.append("")
        out.append("Highest passing step: " + ", ".join(f"{m} {best.get(m, 'none')}" for m in cps_modes))
        ratios = []
        if best.get("sb") and best.get("kam-sf"):
            ratios.append(f"switchboard / kamailio (same run): **{best['sb'] / best['kam-sf']:.2f}×**")
        if best.get("sb") and best.get("direct"):
            ratios.append(f"switchboard / direct sipp: {best['sb'] / best['direct']:.2f}×")
        if ratios:
            out.append("\nRatio " + "; ".join(ratios) + " (steps are coarse: the true maximum lies "
                       "between the highest passing step and the next one)")
        out.append("\n")

    if reg_rows:
        out.append("### REGISTER per second\n")
        out.append("| SUT / mode | target | completed % | retrans % | SUT CPU µs/REGISTER | p99 ms (exact, sb) | SIP socket drops | SUT RSS MB | pass |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for d in reg_rows:
            cpu = 1e6 * d["kam_cpu_s"] / max(1, d["ok"]) if d.get("kam_cpu_s") is not None else None
            out.append(f'| {d["mode"]} | {d["rate_target"]} | {100.0 * d["ok"] / d["calls"]:.2f} | '
                       f'{100.0 * d["retrans"] / d["calls"]:.2f} | {fmt(cpu)} | {fmt(d.get("rtt_p99_ms"))} | '
                       f'{d.get("sb_sip_udp_drops", "-")} | {d.get("sb_rss_mb", "-")} | {"yes" if passed(d) else "NO"} |')
        out.append("\n(`register` is the shared kamailio registrar without authentication, unique AOR per "
                   "REGISTER; `sb-register` is Switchboard with digest auth: 401 challenge + authenticated "
                   "REGISTER, one extension refreshing its binding.)\n")

    mp = os.path.join(base, "perf", "media.jsonl")
    if os.path.exists(mp):
        media = [json.loads(l) for l in open(mp) if l.startswith("{")]
        out.append("### Relayed G.711 media (20 ms PCMA, 50 pps each way per leg)\n")
        out.append("| relay | calls | pps offered | pps sent | loss % | dead streams | relay CPU µs/pkt | relay % of 1 core | relay latency p50 / p99 µs | generator % core | others % core | box busy % | setup ms CPU/call |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        lat = lambda us: "≥200000" if us >= 200000 else str(us)
        for d in media:
            out.append(f'| {d["mode"]} | {d["established"]}/{d["calls"]} | {d["pps_offered"]:.0f} | {d["pps_sent"]:.0f} | '
                       f'{d["loss_pct"]:.4f} | {d["dead_streams"]} | {d["sut_cpu_us_per_pkt"]:.2f} | {d["sut_core_pct"]:.0f} | '
                       f'{lat(d["relay_latency_p50_us"])} / {lat(d["relay_latency_p99_us"])} | '
                       f'{100 * d["gen_cpu_s"] / max(0.01, d["media_s"]):.0f} | {d["others_core_pct"]:.0f} | '
                       f'{d["box_busy_pct_of_2cores"]} | {d.get("setup_sut_cpu_ms_per_call", "-")} |')
        out.append("\n(relay CPU per packet = the relay's utime+stime over the counted window / packets "
                   "delivered; on loopback the kernel's delivery work is charged to the sender.)\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
