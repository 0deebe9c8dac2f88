package pyjson

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// pythonNestingScript reads nesting depths on stdin, one a line, and
// answers "ok" or "deep" for each: whether json.loads, called from the top
// of a script as the orchestrator's code is at its shallowest, reads a
// document nested that deep, and json.dumps(indent=2) writes it back.
const pythonNestingScript = `
import json, sys
def doc(n):
    return "".join('{"k": ' if i % 2 == 0 else "[" for i in range(n)) + "1" + "".join("}" if i % 2 == 0 else "]" for i in reversed(range(n)))
for line in sys.stdin:
    n = int(line)
    try:
        json.dumps(json.loads(doc(n)), indent=2)
        print("ok")
    except RecursionError:
        print("deep")
`

// pythonReads asks python3 which of depths it can read and write back.
func pythonReads(t *testing.T, depths []int) map[int]bool {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found on PATH: it is the oracle for Python's json module")
	}
	cmd := exec.Command(py, "-c", pythonNestingScript)
	var in strings.Builder
	for _, d := range depths {
		in.WriteString(strconv.Itoa(d) + "\n")
	}
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 nesting oracle: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(depths) {
		t.Fatalf("python3 nesting oracle: got %d answers, want %d", len(lines), len(depths))
	}
	got := map[int]bool{}
	for i, d := range depths {
		got[d] = lines[i] == "ok"
	}
	return got
}

// TestNestingLimitMatchesPython finds the deepest nesting Python's json
// module reads by asking python3 itself, and checks that the parser
// accepts nothing Python refuses (the 1,000 to 1,999 levels the parser
// used to accept), and refuses no more than a few levels Python reads.
func TestNestingLimitMatchesPython(t *testing.T) {
	var depths []int
	for d := 900; d <= 1100; d++ {
		depths = append(depths, d)
	}
	depths = append(depths, 1500, 1999, 2000)
	py := pythonReads(t, depths)
	pyLimit := 0
	for d := 900; d <= 1100 && py[d]; d++ {
		pyLimit = d
	}
	if pyLimit == 0 || pyLimit == 1100 {
		t.Fatalf("python3 reads %d levels: the oracle found no limit in 900..1100", pyLimit)
	}
	t.Logf("python3's json reads %d levels, the parser %d", pyLimit, maxDepth)
	for _, d := range depths {
		_, err := Parse([]byte(nestedDoc(d, "1")))
		if err == nil && !py[d] {
			t.Errorf("Parse of %d levels: accepted, but Python cannot read it back", d)
		}
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || !strings.Contains(se.Msg, "Nesting too deep")) {
			t.Errorf("Parse of %d levels: got %v, want a Nesting too deep error", d, err)
		}
	}
	if pyLimit-maxDepth > 16 {
		t.Errorf("got a limit of %d levels, want it within 16 of Python's %d", maxDepth, pyLimit)
	}
}
