#!/usr/bin/env python3
"""Load test for `./jdiffusion serve` (python3 standard library only).

  python3 bench/load_test.py checksums          # once: run ./jdiffusion generate for every request of the mix
                                                #   -> bench/load_test_checksums.json (SHA-256 of each PNG)
  python3 bench/load_test.py run --clients 16 --seconds 60 --max-batch 8
                                                # starts the server, drives it, stops it with SIGTERM, reports
  python3 bench/load_test.py run --url http://127.0.0.1:8080 --clients 4 --seconds 30
                                                # against a server you started yourself

Each client loops over a fixed, seeded mix until the time is up: valid requests (both bundled models,
several seeds, full-step / DeepCache / AdaptiveDiffusion / several images), invalid ones, and asynchronous
ones that are cancelled after a random delay or followed to the end through their event stream.

Reported: images/s, latency p50/p95/p99 of the synchronous valid requests, the batch-size distribution
(from /metrics), counts of 2xx/4xx/429/5xx, and the two checks that matter:
  * every 2xx image is byte-identical to `generate`'s PNG for the same settings (the checksums file);
  * no accepted request was lost or answered twice (every job id gets exactly one answer or one terminal event).
It also reads the server's peak RSS (VmHWM) and the load average, and exits non-zero when a check fails.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKSUMS = os.path.join(ROOT, "bench", "load_test_checksums.json")
DDPM, COND = "fashion-ddpm-32", "fashion-cond-32"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
STEPS = 10


def templates():
    """The valid requests of the mix: name -> (JSON body, the generate flags that give the same PNG)."""
    out = {}
    for seed in range(4):
        base = {"steps": STEPS, "seed": seed}
        flags = ["--steps", str(STEPS), "--seed", str(seed)]
        out[f"full-s{seed}"] = (dict(base, model=DDPM), flags + ["--model", "weights/models/" + DDPM, "--num-images", "1"])
        out[f"full2-s{seed}"] = (dict(base, model=DDPM, num_images=2), flags + ["--model", "weights/models/" + DDPM, "--num-images", "2"])
        out[f"deepcache-s{seed}"] = (dict(base, model=DDPM, accel="deepcache"),
                                     flags + ["--model", "weights/models/" + DDPM, "--num-images", "1", "--accel", "deepcache"])
        out[f"adaptive-s{seed}"] = (dict(base, model=DDPM, accel={"method": "adaptive", "delta": 0.05}),
                                    flags + ["--model", "weights/models/" + DDPM, "--num-images", "1", "--accel", "adaptive", "--delta", "0.05"])
        cls = CLASSES[(3 * seed + 1) % len(CLASSES)]
        out[f"cond-s{seed}"] = (dict(base, model=COND, **{"class": cls}, guidance=3),
                                flags + ["--model", "weights/models/" + COND, "--num-images", "1", "--class", cls, "--guidance", "3"])
    return out


INVALID = ['{"steps":0}', '{"model":"sd15"}', '{"seed":"x"}', '{"prompt":"a cat"}', '{"steps": 3', '{"accel":"warp"}',
           '{"num_images":99}', '{"model":"fashion-cond-32","class":"Dragon"}']


def compute_checksums(args):
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (_, flags) in templates().items():
            png = os.path.join(tmp, name + ".png")
            t0 = time.time()
            subprocess.run([os.path.join(ROOT, "jdiffusion"), "generate", *flags, "--out", png], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(png, "rb") as f:
                out[name] = hashlib.sha256(f.read()).hexdigest()
            print(f"{name}: {out[name][:16]}…  ({time.time() - t0:.0f} s)", flush=True)
    with open(CHECKSUMS, "w") as f:
        json.dump({"steps": STEPS, "generated_by": "./jdiffusion generate", "sha256": out}, f, indent=1, sort_keys=True)
    print("wrote", CHECKSUMS)


class Stats:
    """What the clients saw, guarded by one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.status = {}             # class (2xx/4xx/429/5xx) -> count
        self.latency = []            # seconds, synchronous valid 2xx
        self.images = 0              # images in valid 2xx answers
        self.mismatch = []           # (template, job id) whose PNG is not generate's
        self.answers = {}            # job id -> number of answers (sync body or terminal event)
        self.accepted = set()        # job ids the server accepted
        self.invalid_not_4xx = []
        self.valid_5xx = 0
        self.cancelled = 0
        self.batch_images = {}       # per request: images of the batch it ran in -> count

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def count(self, code):
        cls = "429" if code == 429 else f"{code // 100}xx"
        with self.lock:
            self.status[cls] = self.status.get(cls, 0) + 1

    def answered(self, job_id):
        with self.lock:
            self.answers[job_id] = self.answers.get(job_id, 0) + 1


def request(base, method, path, body=None, headers=None, timeout=600):
    u = urllib.parse.urlparse(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    return c, r


def sse_terminal(base, job_id, timeout=600):
    """Reads a job's event stream to its end: (terminal event names, data of the last terminal event, batch images)."""
    c, r = request(base, "GET", f"/v1/jobs/{job_id}/events", headers={"Accept": "text/event-stream"}, timeout=timeout)
    terminals, last, batch, name, data = [], None, None, None, []
    try:
        for raw in r:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and name:
                d = json.loads("".join(data))
                if name == "started":
                    batch = d["batch_images"]
                if name in ("done", "cancelled", "failed"):
                    terminals.append(name)
                    last = d
                name, data = None, []
    finally:
        c.close()
    return terminals, last, batch


def client(base, idx, deadline, stats, sums, temps):
    rng = random.Random(1000 + idx)
    names = sorted(temps)
    while time.time() < deadline:
        roll = rng.random()
        try:
            if roll < 0.10:                                   # invalid
                body = rng.choice(INVALID)
                c, r = request(base, "POST", "/v1/images", body)
                r.read()
                c.close()
                stats.count(r.status)
                if not 400 <= r.status < 500:
                    with stats.lock:
                        stats.invalid_not_4xx.append((body, r.status))
                continue
            name = rng.choice(names)
            body = json.dumps(temps[name][0])
            n = temps[name][0].get("num_images", 1)
            if roll < 0.25:                                   # asynchronous: cancel it, or follow it to the end
                cancel = roll < 0.20
                c, r = request(base, "POST", "/v1/images", body, {"Prefer": "respond-async"})
                payload = r.read()
                c.close()
                stats.count(r.status)
                if r.status == 429:
                    time.sleep(min(1.0, float(r.getheader("Retry-After", "1"))) * rng.random())
                    continue
                if r.status >= 500:
                    stats.add(valid_5xx=1)
                    continue
                job = json.loads(payload)["id"]
                with stats.lock:
                    if job in stats.accepted:
                        stats.answers[job] = 99       # an id handed out twice counts as a double answer
                    stats.accepted.add(job)
                if cancel:
                    time.sleep(rng.random() * 0.3)
                    c2, r2 = request(base, "DELETE", f"/v1/jobs/{job}")
                    r2.read()
                    c2.close()
                terminals, last, batch = sse_terminal(base, job)
                for _ in terminals:
                    stats.answered(job)
                if terminals == ["cancelled"]:
                    stats.add(cancelled=1)
                elif terminals == ["done"]:
                    png = base64.b64decode(last["grid"])
                    stats.add(images=n)
                    with stats.lock:
                        stats.batch_images[batch] = stats.batch_images.get(batch, 0) + 1
                    if hashlib.sha256(png).hexdigest() != sums[name]:
                        with stats.lock:
                            stats.mismatch.append((name, job))
                elif terminals == ["failed"]:
                    stats.add(valid_5xx=1)
                continue
            t0 = time.time()                                  # synchronous, PNG answer
            c, r = request(base, "POST", "/v1/images", body)
            png = r.read()
            c.close()
            dt = time.time() - t0
            stats.count(r.status)
            if r.status == 429:
                time.sleep(min(1.0, float(r.getheader("Retry-After", "1"))) * rng.random())
                continue
            if r.status >= 500:
                stats.add(valid_5xx=1)
                continue
            if r.status != 200:
                with stats.lock:
                    stats.invalid_not_4xx.append((body, r.status))   # a valid request refused is an error too
                continue
            job = r.getheader("X-Job-Id")
            batch = int(r.getheader("X-Batch-Images"))
            with stats.lock:
                if job in stats.accepted:
                    stats.answers[job] = 99
                stats.accepted.add(job)
                stats.latency.append(dt)
                stats.batch_images[batch] = stats.batch_images.get(batch, 0) + 1
            stats.answered(job)
            stats.add(images=n)
            if hashlib.sha256(png).hexdigest() != sums[name]:
                with stats.lock:
                    stats.mismatch.append((name, job))
        except (OSError, http.client.HTTPException) as e:
            with stats.lock:
                stats.invalid_not_4xx.append(("connection", repr(e)))


def metric_counts(base):
    c, r = request(base, "GET", "/metrics")
    text = r.read().decode()
    c.close()
    buckets, outcomes = {}, {}
    for line in text.splitlines():
        m = re.match(r'jdiffusion_batch_images_bucket\{le="([0-9.]+)"\} ([0-9.e+]+)', line)
        if m:
            buckets[int(float(m.group(1)))] = float(m.group(2))
        m = re.match(r'jdiffusion_requests_total\{outcome="(\w+)"\} ([0-9.e+]+)', line)
        if m:
            outcomes[m.group(1)] = float(m.group(2))
    return buckets, outcomes


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None


def run(args):
    with open(CHECKSUMS) as f:
        sums = json.load(f)["sha256"]
    temps = templates()
    missing = sorted(set(temps) - set(sums))
    if missing:
        sys.exit(f"{CHECKSUMS} lacks {missing}: run `python3 bench/load_test.py checksums`")
    server = None
    base = args.url
    if base is None:
        port = free_port()
        cmd = [os.path.join(ROOT, "jdiffusion"), "serve", "--port", str(port), "--max-batch", str(args.max_batch),
               "--max-queue", str(args.max_queue), "--batch-window-ms", str(args.batch_window_ms)]
        log = open(args.server_log, "w") if args.server_log else subprocess.DEVNULL
        server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
        for line in server.stdout:
            if line.startswith("serving "):
                break
        else:
            sys.exit("the server did not start: " + " ".join(cmd))
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        base = f"http://127.0.0.1:{port}"
    load0 = os.getloadavg()
    buckets0, outcomes0 = metric_counts(base)
    stats = Stats()
    t0 = time.time()
    deadline = t0 + args.seconds
    threads = [threading.Thread(target=client, args=(base, i, deadline, stats, sums, temps)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    load1 = os.getloadavg()
    buckets1, outcomes1 = metric_counts(base)
    rss = peak_rss_mib(server.pid) if server else None
    exit_code = None
    if server:
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(timeout=120)

    per_batch, prev = {}, 0.0
    for size in sorted(buckets1):
        cum = buckets1[size] - buckets0.get(size, 0.0)
        if cum - prev:
            per_batch[size] = int(cum - prev)
        prev = cum
    lost = sorted(j for j in stats.accepted if stats.answers.get(j, 0) == 0)
    twice = sorted(j for j in stats.accepted if stats.answers.get(j, 0) > 1)
    server_ok = outcomes1.get("ok", 0) - outcomes0.get("ok", 0)
    server_cancelled = outcomes1.get("cancelled", 0) - outcomes0.get("cancelled", 0)
    result = {
        "clients": args.clients, "seconds": round(wall, 1), "max_batch": args.max_batch, "max_queue": args.max_queue,
        "images": stats.images, "images_per_s": round(stats.images / wall, 2),
        "latency_s": {"p50": round(pct(stats.latency, 50), 3), "p95": round(pct(stats.latency, 95), 3),
                      "p99": round(pct(stats.latency, 99), 3), "n": len(stats.latency)},
        "status": dict(sorted(stats.status.items())), "cancelled": stats.cancelled,
        "batches_by_images": per_batch, "requests_by_batch_images": dict(sorted((k, v) for k, v in stats.batch_images.items() if k)),
        "accepted": len(stats.accepted), "lost": len(lost), "answered_twice": len(twice),
        "server_ok": int(server_ok), "server_cancelled": int(server_cancelled),
        "png_mismatches": len(stats.mismatch), "png_mismatch_settings": sorted({n for n, _ in stats.mismatch}),
        "valid_5xx": stats.valid_5xx,
        "unexpected": stats.invalid_not_4xx[:10], "peak_rss_mib": round(rss) if rss else None,
        "server_exit": exit_code, "loadavg_start": [round(x, 1) for x in load0], "loadavg_end": [round(x, 1) for x in load1],
    }
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(result) + "\n")
    ok = not lost and not twice and not stats.mismatch and not stats.valid_5xx and not stats.invalid_not_4xx \
        and (exit_code in (None, 0))
    if stats.mismatch:
        print("PNG differs from generate's for:", stats.mismatch[:10], file=sys.stderr)
    print("checks:", "PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("checksums", help="run ./jdiffusion generate for every request of the mix")
    r = sub.add_parser("run", help="drive a server")
    r.add_argument("--url", help="a running server (default: start ./jdiffusion serve on a free port)")
    r.add_argument("--clients", type=int, default=4)
    r.add_argument("--seconds", type=float, default=60)
    r.add_argument("--max-batch", type=int, default=8)
    r.add_argument("--max-queue", type=int, default=16)
    r.add_argument("--batch-window-ms", type=int, default=20)
    r.add_argument("--server-log", help="file for the server's log")
    r.add_argument("--json", help="append the result as one JSON line to this file")
    a = p.parse_args()
    if a.cmd == "checksums":
        compute_checksums(a)
        return 0
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
