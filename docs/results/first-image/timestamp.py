#!/usr/bin/python3
# run a command; prefix each output line (stdout+stderr merged) with wall seconds since start, process CPU seconds,
# and the CPU seconds of the JIT compiler threads (C1+C2) of the (exec'd) process
import os, subprocess, sys, time
HZ = os.sysconf('SC_CLK_TCK')
def cpu(pid):
    tot = comp = 0.0
    try:
        st = open(f'/proc/{pid}/stat').read()
        f = st[st.rindex(')') + 2:].split()
        tot = (int(f[11]) + int(f[12])) / HZ
        for t in os.listdir(f'/proc/{pid}/task'):
            try:
                comm = open(f'/proc/{pid}/task/{t}/comm').read()
                if 'Compiler' in comm:
                    s = open(f'/proc/{pid}/task/{t}/stat').read(); g = s[s.rindex(')') + 2:].split()
                    comp += (int(g[11]) + int(g[12])) / HZ
            except OSError:
                pass
    except OSError:
        pass
    return tot, comp
t0 = time.time()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
last = (0, 0)
for line in p.stdout:
    c = cpu(p.pid)
    if c[0] > 0: last = c
    sys.stdout.write(f"{time.time()-t0:8.3f} cpu {last[0]:7.2f} jit {last[1]:6.2f} | {line}")
ru = os.wait4(p.pid, 0)[2]
sys.stdout.write(f"{time.time()-t0:8.3f} exit, cpu user {ru.ru_utime:.2f} sys {ru.ru_stime:.2f} maxrss {ru.ru_maxrss//1024} MiB\n")
