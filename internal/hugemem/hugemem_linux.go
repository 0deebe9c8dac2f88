package hugemem

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// thpDir holds the kernel's transparent huge page settings: enabled says
// when anonymous memory gets them (always, never, or [madvise] — only
// where a process asks), hpage_pmd_size how big one is.
const thpDir = "/sys/kernel/mm/transparent_hugepage/"

// defaultPageSize is a huge page where hpage_pmd_size cannot be read: one
// PMD with 4 KiB pages.
const defaultPageSize = 2 << 20

type settings struct {
	onRequest bool
	pageSize  uintptr
}

var read = sync.OnceValue(func() settings {
	s := settings{pageSize: defaultPageSize}
	if b, err := os.ReadFile(thpDir + "hpage_pmd_size"); err == nil {
		if n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64); err == nil && n >= uint64(os.Getpagesize()) && n&(n-1) == 0 {
			s.pageSize = uintptr(n)
		}
	}
	m, err := os.ReadFile(thpDir + "enabled")
	s.onRequest = err == nil && mode(m) == "madvise" && !godebugDisablesTHP(os.Getenv("GODEBUG"))
	return s
})

// OnRequest reports whether huge pages are given here only where a
// process asks for them, and this process may ask. The kernel's settings
// are read once.
func OnRequest() bool { return read().onRequest }

// PageSize is the size of a transparent huge page here.
func PageSize() uintptr { return read().pageSize }

// Advise asks for huge pages over b's whole huge pages, and returns them;
// the range is empty where b holds none or the kernel refused.
func Advise(b []byte) Range {
	if len(b) == 0 {
		return Range{}
	}
	size := PageSize()
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	r := Range{Lo: (start + size - 1) &^ (size - 1), Hi: (start + uintptr(len(b))) &^ (size - 1)}
	if r.Empty() || syscall.Madvise(b[r.Lo-start:r.Hi-start], syscall.MADV_HUGEPAGE) != nil {
		return Range{}
	}
	return r
}

// mode is the bracketed word of the enabled file's contents.
func mode(b []byte) string {
	_, after, ok := bytes.Cut(b, []byte("["))
	if !ok {
		return ""
	}
	word, _, ok := bytes.Cut(after, []byte("]"))
	if !ok {
		return ""
	}
	return string(word)
}

// godebugDisablesTHP reports whether GODEBUG turns the runtime's own use
// of huge pages off, read as the runtime reads it: a 32-bit number other
// than 0, the last that parses winning.
func godebugDisablesTHP(godebug string) bool {
	on := false
	for setting := range strings.SplitSeq(godebug, ",") {
		if v, ok := strings.CutPrefix(setting, "disablethp="); ok {
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				on = n != 0
			}
		}
	}
	return on
}

// Advised reports whether every mapping of this process over r carries
// the advice (VmFlags hg in /proc/self/smaps).
func Advised(r Range) (bool, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	seen, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) > 0 && !strings.HasSuffix(fields[0], ":") {
			// A mapping's first line: its range, then its permissions.
			var lo, hi uintptr
			if _, err := fmt.Sscanf(fields[0], "%x-%x", &lo, &hi); err != nil {
				return false, fmt.Errorf("smaps line %q: %w", line, err)
			}
			in = lo < r.Hi && r.Lo < hi
			continue
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			if !strings.Contains(flags+" ", " hg ") {
				return false, nil
			}
			seen++
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return seen > 0, nil
}
