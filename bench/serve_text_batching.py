#!/usr/bin/env python3
"""Text-to-image through `./jdiffusion serve`: 4 requests with different prompts one after another (each its own
UNet batch) vs the same 4 sent at once (one shared batch), alternated over several rounds on one running server.

    python3 bench/serve_text_batching.py --model ../shared/golden/sd-text2img-tiny --steps 20 --rounds 5

Prints each round's wall time for the 4 images both ways, the medians, the batch sizes the server reported
(X-Batch-Requests) and whether every image had the same bytes both ways. Standard library only.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

PROMPTS = ["a photo of an astronaut riding a horse on mars", "a cat", "a cozy cabin in the snowy woods",
           "a red apple on a wooden table"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    req = urllib.request.Request(url + "/v1/images", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read(), int(r.headers["X-Batch-Requests"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a Stable Diffusion folder")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    port = free_port()
    server = subprocess.Popen([os.path.join(root, "jdiffusion"), "serve", "--model", a.model, "--port", str(port), "--max-batch", "8",
                               "--batch-window-ms", "200", "--threads", str(a.threads)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = "http://127.0.0.1:%d" % port
    try:
        for line in server.stdout:          # warm-up runs before the port opens; "serving …" once it is open
            if line.startswith("serving "):
                break
        else:
            sys.exit("the server did not start")
        bodies = [{"prompt": p, "seed": k, "steps": a.steps} for k, p in enumerate(PROMPTS)]
        for b in bodies:                    # one unmeasured pass of each way
            post(url, b)
        with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
            list(pool.map(lambda b: post(url, b), bodies))
            alone, together, same, sizes = [], [], True, []
            for r in range(a.rounds):
                t0 = time.perf_counter()
                one = [post(url, b) for b in bodies]
                alone.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                four = list(pool.map(lambda b: post(url, b), bodies))
                together.append(time.perf_counter() - t0)
                sizes.append([n for _, n in four])
                same &= all(hashlib.sha256(x[0]).digest() == hashlib.sha256(y[0]).digest() for x, y in zip(one, four))
                print("round %d: one at a time %.3f s, at once %.3f s (batch requests %s), load %s"
                      % (r + 1, alone[-1], together[-1], sizes[-1], os.getloadavg()[0]), flush=True)
        print("median over %d rounds, 4 images of %d steps: one at a time %.3f s, at once %.3f s (%.2fx); same PNG bytes both ways: %s"
              % (a.rounds, a.steps, statistics.median(alone), statistics.median(together),
                 statistics.median(alone) / statistics.median(together), same))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)


if __name__ == "__main__":
    main()
