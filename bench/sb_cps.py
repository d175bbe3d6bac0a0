#!/usr/bin/env python3
"""Switchboard's SIP load driver, in the style of ../shared/perf/sip_cps_bench.py.

Modes:
  sb          : sipp UAC -> DID on the demo trunk -> Switchboard (B2BUA) -> sipp UAS, which is
                registered with digest auth as extension EXT first (Switchboard forks to the
                registered contact, i.e. the REGISTER's source address = the UAS's port)
  sb-register : sipp REGISTER with digest auth (401 challenge, then credentials; one
                registration = two transactions) -> Switchboard's registrar

Usage: sb_cps.py MODE RATE[,RATE...] [--secs 10] [--hold-ms 1000] [--tolerate-reorder] [ports...]

It starts its own Switchboard (fresh data dir, --log-level warn unless told) and stops it at
the end; it kills only the PIDs it started. Each step sends N = RATE*secs calls (-m N), hard
time bound N/RATE+45 s; same CSV ($PERF_TMP/perf/sippruns/<mode>_<rate>.csv) and the same JSON
fields as sip_cps_bench.py, so ../shared/perf/summarize_sip.py reads both. The SUT's CPU
(utime+stime of the switchboard process, from /proc) is in the kam_* fields, as the sipgo
modes of sip_cps_bench.py do. Extra fields: rtt_* = INVITE->200 time per call (sipp
-trace_rtt, 1 ms resolution), sb_rss_mb, sb_alive.

Pass rule (summarize_sip.py): completed >= 99 % and retransmissions < 1 % of calls.
"""
import os, sys, time, subprocess, signal, json, argparse, tempfile, shutil, socket, glob

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ["SWITCHBOARD_DEMO_SIMULATE"] = "false"  # measure Switchboard alone: no simulated demo traffic
REPO = os.path.dirname(HERE)
WORK = os.path.join(os.environ.get("PERF_TMP", tempfile.gettempdir()), "perf", "sippruns")
HZ = os.sysconf("SC_CLK_TCK")
BUF = "4194304"
REG_SCEN = os.path.join(HERE, "sipp", "register_auth.xml")
RUNNING = []  # sipp UACs in flight, killed if we are stopped


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])  # utime + stime
    except Exception:
        return 0


def rss_mb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except Exception:
        pass
    return None


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except Exception:
        return False


def udp_drops(port):
    """Kernel drop counter of the UDP socket bound to 127.0.0.1:port (/proc/net/udp)."""
    want = "0100007F:%04X" % port
    try:
        for line in open("/proc/net/udp").read().splitlines()[1:]:
            f = line.split()
            if f[1] == want:
                return int(f[-1])
    except Exception:
        pass
    return None


def sys_cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v), idle


def wait_port(host, port, secs=10):
    t0 = time.time()
    while time.time() - t0 < secs:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def start_sb(a, tag):
    data = os.path.join(WORK, f"sbdata-{tag}")
    shutil.rmtree(data, ignore_errors=True)
    err = open(os.path.join(WORK, f"sb-{tag}.err"), "w")
    cmd = [a.bin, "demo", "--data-dir", data, "--sip-addr", f"127.0.0.1:{a.sip_port}",
           "--http-addr", f"127.0.0.1:{a.http_port}", "--rtp-ports", a.rtp_ports,
           "--carrier-addr", f"127.0.0.1:{a.carrier_port}", "--log-level", a.log_level]
    env = dict(os.environ)
    if a.pprof_addr:
        env["SB_PPROF_ADDR"] = a.pprof_addr  # only a binary built by bench/profile.sh listens
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                         env=env, start_new_session=True)
    if not wait_port("127.0.0.1", a.http_port):
        stop(p.pid)
        sys.exit(f"switchboard did not start; see {err.name}")
    time.sleep(0.3)
    return p


def stop(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            if not os.path.exists(f"/proc/{pid}"):
                return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def register_uas(a):
    """Registers EXT with the UAS's port as source and Contact, then frees the port."""
    r = subprocess.run(["sipp", "-sf", REG_SCEN, f"127.0.0.1:{a.sip_port}", "-s", a.ext, "-au", a.ext,
                        "-ap", f"demo-{a.ext}", "-i", "127.0.0.1", "-p", str(a.uas_port), "-m", "1",
                        "-nostdin", "-timeout", "10s", "-trace_err"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=WORK, timeout=30)
    if r.returncode != 0:
        sys.exit(f"registering the sipp UAS as {a.ext} failed (sipp exit {r.returncode}); see {WORK}/register_auth_*_errors.log")


def start_uas(a):
    out = subprocess.run(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(a.uas_port), "-bg",
                          "-buff_size", BUF, "-nostdin", "-trace_err"], capture_output=True, text=True,
                         cwd=WORK).stdout
    pid = int(out.split("PID=[")[1].split("]")[0])
    time.sleep(0.3)
    return pid


def pctl(vals, q):
    if not vals:
        return None
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(q * len(vals)))]


def run_uac(a, rate, n, scen, extra, tag):
    stf = os.path.join(WORK, f"{tag}_{rate}.csv")
    if os.path.exists(stf):
        os.unlink(stf)
    for f in glob.glob(os.path.join(WORK, "*_rtt.csv")):
        os.unlink(f)
    cmd = ["sipp"] + scen + [f"127.0.0.1:{a.sip_port}", "-i", "127.0.0.1", "-p", str(a.uac_port),
                             "-r", str(rate), "-m", str(n), "-nostdin", "-trace_stat", "-stf", stf,
                             "-fd", "1", "-trace_rtt", "-rtt_freq", "1", "-trace_err",
                             "-timeout", f"{int(n / rate) + 40}s", "-buff_size", BUF] + extra
    bound = n / rate + 45
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, cwd=WORK)
    RUNNING.append(p)
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.time() - t0 > bound:
            os.kill(p.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    RUNNING.remove(p)
    wall = time.time() - t0
    last = open(stf).read().strip().splitlines()[-1].split(";")
    g = lambda i: last[i - 1]
    res = dict(rate_target=rate, calls=n, wall_s=round(wall, 2),
               rate_achieved=float(g(8)), created=int(g(13)), ok=int(g(16)),
               failed=int(g(18)), retrans=int(g(58)), rtt_avg=g(70),
               unexpected_failed=int(g(28)), timeouts_failed=int(g(22)) + int(g(42)),
               uac_cpu_s=round(ru.ru_utime + ru.ru_stime, 2))
    # per-call INVITE->200 (or REGISTER->200) times, ms
    rtts = []
    for f in glob.glob(os.path.join(WORK, f"*_{p.pid}_rtt.csv")):
        for line in open(f).read().splitlines()[1:]:
            parts = line.split(";")
            if len(parts) >= 2:
                try:
                    rtts.append(float(parts[1]))
                except ValueError:
                    pass
        os.replace(f, os.path.join(WORK, f"{tag}_{rate}_rtt.csv"))
    for f in glob.glob(os.path.join(WORK, f"*_{p.pid}_errors.log")):
        os.replace(f, os.path.join(WORK, f"{tag}_{rate}_errors.log"))
    if rtts:
        res["rtt_p50_ms"] = pctl(rtts, 0.50)
        res["rtt_p99_ms"] = pctl(rtts, 0.99)
        res["rtt_max_ms"] = max(rtts)
        res["rtt_lt10_pct"] = round(100 * sum(1 for x in rtts if x < 10) / len(rtts), 2)
        res["rtt_n"] = len(rtts)
    return res


def on_term(signum, frame):
    raise SystemExit(f"sb_cps: signal {signum}")  # runs the finally: stops what we started


def main():
    signal.signal(signal.SIGTERM, on_term)
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["sb", "sb-register"])
    ap.add_argument("rates")
    ap.add_argument("--secs", type=float, default=10)
    ap.add_argument("--hold-ms", type=int, default=0)
    ap.add_argument("--tolerate-reorder", action="store_true",
                    help="sipp -default_behaviors all,-abortunexp (a 180 overtaken by the 200 is not a failure)")
    ap.add_argument("--bin", default=os.path.join(REPO, "bin", "switchboard"))
    ap.add_argument("--sip-port", type=int, default=5170)
    ap.add_argument("--http-port", type=int, default=5171)
    ap.add_argument("--uac-port", type=int, default=5160)
    ap.add_argument("--uas-port", type=int, default=5180)
    ap.add_argument("--carrier-port", type=int, default=5190)
    ap.add_argument("--rtp-ports", default="10000-29999")
    ap.add_argument("--ext", default="1002", help="extension the UAS registers as / REGISTER load uses")
    ap.add_argument("--did", default="+31201231002", help="DID the UAC dials (routes to --ext)")
    ap.add_argument("--log-level", default="warn")
    ap.add_argument("--stop-below", type=float, default=0,
                    help="skip the higher rates after a step that completed fewer than this %% of its calls")
    ap.add_argument("--pprof-addr", default="", help="with a binary from bench/profile.sh: take a CPU profile")
    ap.add_argument("--pprof-rate", type=int, default=0, help="rate step during which the profile is taken")
    ap.add_argument("--pprof-secs", type=int, default=5)
    ap.add_argument("--pprof-out", default="")
    a = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    a.bin = os.path.abspath(a.bin)
    rates = [int(x) for x in a.rates.split(",")]
    results = []
    uas = None
    sb = start_sb(a, a.mode)
    try:
        if a.mode == "sb":
            register_uas(a)
            uas = start_uas(a)
            scen = ["-sn", "uac", "-s", a.did]
            extra = ["-d", str(a.hold_ms)]
            if a.tolerate_reorder:
                extra += ["-default_behaviors", "all,-abortunexp"]
        else:
            scen = ["-sf", REG_SCEN, "-s", a.ext, "-au", a.ext, "-ap", f"demo-{a.ext}"]
            extra = []
        for r in rates:
            if not alive(sb.pid):
                print(f"sb_cps: switchboard is not running before step {r}; see {WORK}/sb-{a.mode}.err", file=sys.stderr, flush=True)
                break
            n = int(r * a.secs)
            prof = None
            if a.pprof_addr and r == a.pprof_rate:
                out = a.pprof_out or os.path.join(WORK, f"{a.mode}_{r}.pprof")
                # starts the profile 2 s into the step (steady state)
                prof = subprocess.Popen(["sh", "-c", f"sleep 2; exec curl -sf -o {out} "
                                         f"'http://{a.pprof_addr}/debug/pprof/profile?seconds={a.pprof_secs}'"])
            k0 = ticks(sb.pid)
            d0, e0 = udp_drops(a.sip_port), udp_drops(a.uas_port)
            u0 = ticks(uas) if uas else 0
            s0, i0 = sys_cpu()
            res = run_uac(a, r, n, scen, extra, a.mode)
            s1, i1 = sys_cpu()
            if prof:
                prof.wait(timeout=a.pprof_secs + 30)
            res["kam_cpu_s"] = round((ticks(sb.pid) - k0) / HZ, 2)
            res["uas_cpu_s"] = round((ticks(uas) - u0) / HZ, 2) if uas else None
            res["box_busy_pct_of_2cores"] = round(100 * (1 - (i1 - i0) / max(1, s1 - s0)), 1)
            res["fail_pct"] = round(100 * res["failed"] / max(1, res["created"]), 3)
            res["kam_core_pct"] = round(100 * res["kam_cpu_s"] / max(0.001, res["wall_s"]), 1)
            d1, e1 = udp_drops(a.sip_port), udp_drops(a.uas_port)
            res["sb_sip_udp_drops"] = (d1 - d0) if d0 is not None and d1 is not None else None
            res["uas_udp_drops"] = (e1 - e0) if e0 is not None and e1 is not None else None
            res["sb_rss_mb"] = rss_mb(sb.pid)
            res["sb_alive"] = alive(sb.pid)
            res["mode"] = a.mode
            print(json.dumps(res), flush=True)
            results.append(res)
            if 100.0 * res["ok"] / max(1, n) < a.stop_below:
                print(f"sb_cps: {a.mode}: skipping rates {[x for x in rates if x > r]}: step {r} completed "
                      f"{100.0 * res['ok'] / n:.1f} % < {a.stop_below} %", file=sys.stderr, flush=True)
                break
            time.sleep(2)
    finally:
        for p in RUNNING:
            p.kill()
            p.wait()
        if uas:
            stop(uas)
        stop(sb.pid)
    with open(os.path.join(WORK, f"results_{a.mode}.jsonl"), "a") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
