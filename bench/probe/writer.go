package main

// writer: what a flock'd python writer waits beside agentwatch.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
)

// writerScript is the orchestrator's careful writer, reduced to its lock:
// every few milliseconds it takes LOCK_EX on the registry, as its writers
// do around a rewrite, and notes how long flock waited, until stdin
// closes. With argument "read" it instead reads the whole registry under
// LOCK_SH, as a reader of the orchestrator does, and prints how long the
// read took: what a writer beside agentwatch may wait at most.
const writerScript = `
import fcntl, json, os, select, sys, time
path, mode = sys.argv[1], sys.argv[2]
if mode == "read":
    times = []
    for _ in range(int(sys.argv[3])):
        with open(path, "rb") as f:
            t = time.monotonic()
            fcntl.flock(f, fcntl.LOCK_SH)
            f.read()
            fcntl.flock(f, fcntl.LOCK_UN)
            times.append((time.monotonic() - t) * 1000)
    print(json.dumps(times))
    sys.exit(0)
waits = []
with open(path, "r+b") as f:
    print("ready", flush=True)
    while not select.select([sys.stdin], [], [], 0.003)[0]:
        t = time.monotonic()
        fcntl.flock(f, fcntl.LOCK_EX)
        waits.append((time.monotonic() - t) * 1000)
        fcntl.flock(f, fcntl.LOCK_UN)
print(json.dumps(waits))
`

type writerResult struct {
	Runs        int     `json:"runs"`
	Bytes       int64   `json:"bytes"`
	ReadMs      float64 `json:"read_ms"`     // median python read under LOCK_SH
	ReadMaxMs   float64 `json:"read_max_ms"` // the longest of them
	WaitMaxMs   float64 `json:"writer_max_wait_ms"`
	WaitP99Ms   float64 `json:"writer_p99_wait_ms"`
	Locks       int     `json:"writer_locks"`
	CheckMs     float64 `json:"check_ms"`
	CheckMaxRSS float64 `json:"check_maxrss_mb"`
	CheckExits  []int   `json:"check_exit_codes"`
	Note        string  `json:"note,omitempty"`
}

// writerWaits runs a flock'd python writer beside n runs of the command
// (sh -c), and reports the writer's waits for the lock against the time a
// plain read of the registry under its shared lock takes.
func writerWaits(n int, file, line string) (any, error) {
	if file == "" || line == "" {
		return nil, errors.New("writer needs -file and -a")
	}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	r := writerResult{Runs: n, Bytes: fi.Size()}
	out, err := exec.Command("python3", "-c", writerScript, file, "read", strconv.Itoa(n)).Output()
	if err != nil {
		return nil, fmt.Errorf("python reader: %w", err)
	}
	var reads []float64
	if err := json.Unmarshal(out, &reads); err != nil {
		return nil, err
	}
	r.ReadMs = median(slices.Clone(reads))
	r.ReadMaxMs = slices.Max(reads)

	w := exec.Command("python3", "-c", writerScript, file, "write")
	stdin, err := w.StdinPipe()
	if err != nil {
		return nil, err
	}
	var wout bytes.Buffer
	stdout, err := w.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		return nil, err
	}
	defer func() { // the writer ends by its PID, whatever happens
		if w.ProcessState == nil {
			w.Process.Kill()
			w.Wait()
		}
	}()
	ready := make([]byte, 6)
	if _, err := io.ReadFull(stdout, ready); err != nil {
		return nil, fmt.Errorf("python writer: %w", err)
	}
	var walls, rss []float64
	for range n {
		st, err := runSh(line)
		if err != nil {
			return nil, err
		}
		walls, rss = append(walls, ms(st.wall)), append(rss, float64(st.maxRSS)/1024)
		r.CheckExits = append(r.CheckExits, st.exit)
		if st.exit > 1 {
			r.Note = "the command failed: " + st.stderrTail
		}
	}
	stdin.Close()
	if _, err := io.Copy(&wout, stdout); err != nil {
		return nil, err
	}
	if err := w.Wait(); err != nil {
		return nil, fmt.Errorf("python writer: %w", err)
	}
	var waits []float64
	if err := json.Unmarshal(wout.Bytes(), &waits); err != nil {
		return nil, fmt.Errorf("python writer: %w", err)
	}
	r.Locks = len(waits)
	if len(waits) > 0 {
		slices.Sort(waits)
		r.WaitMaxMs = waits[len(waits)-1]
		r.WaitP99Ms = waits[len(waits)*99/100]
	}
	r.CheckMs, r.CheckMaxRSS = median(walls), slices.Max(rss)
	return r, nil
}
