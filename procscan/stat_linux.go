// Parsing what /proc says: its directory entries, and of one process its
// stat, uid, NUL-separated lists (environ's tmux variables among them), the
// controlling terminal.

package procscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procStat is what the package uses of /proc/PID/stat.
type procStat struct {
	pid, ppid, pgrp, session int32
	comm                     string
	state                    byte
	ttyNr                    uint64
	utime, stime             uint64 // clock ticks
	start                    uint64 // clock ticks since boot
	rssPages                 uint64
}

// parseStat parses /proc/PID/stat (proc(5)). comm is between the first '('
// and the last ')': it may itself hold spaces and parentheses.
func parseStat(b []byte) (procStat, error) {
	var st procStat
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open || closing+2 >= len(b) {
		return st, errors.New("malformed stat")
	}
	pid, err := strconv.ParseInt(string(bytes.TrimSpace(b[:open])), 10, 32)
	if err != nil {
		return st, err
	}
	st.pid = int32(pid)
	st.comm = string(b[open+1 : closing])

	// Fields after the comm, numbered as in proc(5): 3 is the state.
	rest := b[closing+2:]
	field := 3
	for len(rest) > 0 && field <= 24 {
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		f := bytes.TrimRight(rest[:end], "\n")
		rest = rest[min(end+1, len(rest)):]
		switch field {
		case 3:
			if len(f) == 0 {
				return st, errors.New("malformed stat")
			}
			st.state = f[0]
		case 4, 5, 6:
			v, err := strconv.ParseInt(string(f), 10, 32)
			if err != nil {
				return st, err
			}
			switch field {
			case 4:
				st.ppid = int32(v)
			case 5:
				st.pgrp = int32(v)
			case 6:
				st.session = int32(v)
			}
		case 7:
			v, err := strconv.ParseInt(string(f), 10, 64)
			if err != nil {
				return st, err
			}
			st.ttyNr = uint64(uint32(v))
		case 14, 15, 22, 24:
			v, err := strconv.ParseUint(string(f), 10, 64)
			if err != nil {
				return st, err
			}
			switch field {
			case 14:
				st.utime = v
			case 15:
				st.stime = v
			case 22:
				st.start = v
			case 24:
				st.rssPages = v
			}
		}
		field++
	}
	if field <= 24 {
		return st, errors.New("malformed stat: too few fields")
	}
	return st, nil
}

// parseUID returns the effective uid from /proc/PID/status ("Uid:" real,
// effective, saved, filesystem).
func parseUID(b []byte) uint32 {
	i := bytes.Index(b, []byte("\nUid:"))
	if i < 0 {
		return 0
	}
	line := b[i+5:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := bytes.Fields(line)
	if len(f) < 2 {
		return 0
	}
	v, err := strconv.ParseUint(string(f[1]), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(v)
}

// splitNUL splits NUL-terminated strings (cmdline, environ). A process
// that rewrote its arguments (setproctitle) may leave one string with
// spaces in it; that is kept as it is.
func splitNUL(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// ttyName names a terminal from its device number: pseudo-terminals
// (majors 136-143) and the virtual consoles and serial lines (major 4)
// by name, anything else as "major:minor".
func ttyName(dev uint64) string {
	if dev == 0 {
		return ""
	}
	maj, mnr := unix.Major(dev), unix.Minor(dev)
	switch {
	case maj >= 136 && maj <= 143:
		return "pts/" + strconv.FormatUint(uint64((maj-136)*256+mnr), 10)
	case maj == 4 && mnr < 64:
		return "tty" + strconv.FormatUint(uint64(mnr), 10)
	case maj == 4:
		return "ttyS" + strconv.FormatUint(uint64(mnr-64), 10)
	case maj == 5 && mnr == 1:
		return "console"
	}
	return fmt.Sprintf("%d:%d", maj, mnr)
}

// appendPIDs appends the PIDs named by the directory entries in b (struct
// linux_dirent64: inode, offset, record length, type, NUL-terminated name)
// and skips every other entry.
func appendPIDs(pids []int32, b []byte) []int32 {
	const nameAt = 19
	for len(b) > nameAt {
		n := int(binary.NativeEndian.Uint16(b[16:18]))
		if n <= nameAt || n > len(b) {
			break
		}
		name := b[nameAt:n]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if pid, ok := parsePID(name); ok {
			pids = append(pids, pid)
		}
		b = b[n:]
	}
	return pids
}

// parsePID parses a directory name that is a positive decimal PID.
func parsePID(b []byte) (int32, bool) {
	if len(b) == 0 || len(b) > 10 || b[0] == '0' {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// environTMUX is tmuxVars over the contents of /proc/PID/environ, without
// making a string of every variable: a first scan reads the environment of
// every process on the machine.
func environTMUX(b []byte) (tmux, pane string) {
	for len(b) > 0 {
		var kv []byte
		kv, b, _ = bytes.Cut(b, []byte{0})
		switch {
		case len(kv) > len("TMUX=") && string(kv[:len("TMUX=")]) == "TMUX=":
			tmux = string(kv[len("TMUX="):])
		case len(kv) > len("TMUX_PANE=") && string(kv[:len("TMUX_PANE=")]) == "TMUX_PANE=":
			pane = string(kv[len("TMUX_PANE="):])
		}
	}
	return tmux, pane
}
