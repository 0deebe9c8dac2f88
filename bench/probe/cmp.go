package main

// cmp: two commands run alternately, their wall time and rusage.

import (
	"bytes"
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// cmpResult is a side-by-side comparison of two commands.
type cmpResult struct {
	Runs     int     `json:"runs"`
	AMs      float64 `json:"a_ms"`
	BMs      float64 `json:"b_ms"`
	Ratio    float64 `json:"ratio"`
	AMaxRSS  float64 `json:"a_maxrss_mb"`
	BMaxRSS  float64 `json:"b_maxrss_mb"`
	AExit    []int   `json:"a_exit_codes"`
	AUserMs  float64 `json:"a_user_ms"`
	ASysMs   float64 `json:"a_sys_ms"`
	BCPUMs   float64 `json:"b_cpu_ms"`
	AllAMs   []int   `json:"a_all_ms"`
	AllBMs   []int   `json:"b_all_ms"`
	Warmups  int     `json:"warmups"`
	Note     string  `json:"note,omitempty"`
	AlterPer string  `json:"order"`
}

type runStat struct {
	wall       time.Duration
	maxRSS     int64 // KiB
	user, sys  time.Duration
	exit       int
	stderrTail string
}

// runSh runs a command line with sh -c, its output thrown away, and
// returns its wall time and its rusage (the shell and all it waited for).
func runSh(line string) (runStat, error) {
	c := exec.Command("sh", "-c", line)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	start := time.Now()
	err := c.Run()
	st := runStat{wall: time.Since(start)}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return st, err
	}
	ru := c.ProcessState.SysUsage().(*syscall.Rusage)
	st.maxRSS = ru.Maxrss
	st.user = time.Duration(ru.Utime.Nano())
	st.sys = time.Duration(ru.Stime.Nano())
	st.exit = c.ProcessState.ExitCode()
	if s := stderr.String(); len(s) > 300 {
		st.stderrTail = s[len(s)-300:]
	} else {
		st.stderrTail = s
	}
	return st, nil
}

func cmpCommands(n int, a, b string) (any, error) {
	if a == "" || b == "" {
		return nil, errors.New("cmp needs -a and -b")
	}
	r := cmpResult{Runs: n, Warmups: 1, AlterPer: "a,b then b,a, alternating"}
	// One warm-up of each: page cache, the binary's pages.
	for _, line := range []string{a, b} {
		if _, err := runSh(line); err != nil {
			return nil, err
		}
	}
	var aw, bw, ar, br, au, as, bc []float64
	for i := range n {
		order := []string{a, b}
		if i%2 == 1 {
			order = []string{b, a}
		}
		for _, line := range order {
			st, err := runSh(line)
			if err != nil {
				return nil, err
			}
			if line == a {
				aw, ar = append(aw, ms(st.wall)), append(ar, float64(st.maxRSS)/1024)
				au, as = append(au, ms(st.user)), append(as, ms(st.sys))
				r.AExit = append(r.AExit, st.exit)
				r.AllAMs = append(r.AllAMs, int(ms(st.wall)))
				if st.exit > 1 {
					r.Note = "a failed: " + st.stderrTail
				}
			} else {
				bw, br = append(bw, ms(st.wall)), append(br, float64(st.maxRSS)/1024)
				bc = append(bc, ms(st.user+st.sys))
				r.AllBMs = append(r.AllBMs, int(ms(st.wall)))
			}
		}
	}
	r.AMs, r.BMs = median(aw), median(bw)
	r.Ratio = r.AMs / r.BMs
	r.AMaxRSS, r.BMaxRSS = median(ar), median(br)
	r.AUserMs, r.ASysMs, r.BCPUMs = median(au), median(as), median(bc)
	return r, nil
}
