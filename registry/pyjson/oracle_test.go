package pyjson

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"testing"
)

// oracleScript is the python3 side of the oracle. It reads one JSON request
// per line on stdin and answers one JSON line on stdout:
//
//	request:  {"doc": base64 bytes, "ops": [edit, ...], "alt": dump options}
//	edit:     {"path": [key or index, ...], "op": "set"|"delete"|"append"|"remove"|"put",
//	           "key": str, "index": int, "value": spec}
//	options:  {"indent": int or null, "separators": [item, key] or null,
//	           "ensure_ascii": bool}
//	spec:     {"t": "str", "b64": utf-8 bytes} | {"t": "json", "b64": text}
//	          | {"t": "num", "text": str} | {"t": "bool", "v": bool} | {"t": "null"}
//	          | {"t": "obj", "members": [[key, spec], ...]} | {"t": "arr", "items": [spec, ...]}
//	reply:    {"ok": true, "out": base64 of json.dumps(obj, indent=2),
//	           "alt": base64 of json.dumps(obj, **options) as UTF-8, when asked}
//	          | {"ok": false, "kind": "syntax", "msg", "pos", "lineno", "colno", "bytepos"}
//	          | {"ok": false, "kind": "unicode"|"recursion"|"error", "msg", "bytepos"}
//
// The document is decoded as UTF-8 text first, as a Python writer reading
// the registry with open(path).read() would. Python's limit on the digits of
// an int (4300 by default) is lifted so that big integers are compared too
// rather than skipped; the orchestrator's own Python would refuse them. The
// process exits when stdin closes, so a test binary that dies leaves no
// python behind.
const oracleScript = `
import base64, json, sys
sys.set_int_max_str_digits(0)

def build(spec):
    t = spec["t"]
    if t == "str":
        return base64.b64decode(spec["b64"]).decode("utf-8")
    if t == "json":
        return json.loads(base64.b64decode(spec["b64"]).decode("utf-8"))
    if t == "num":
        return json.loads(spec["text"])
    if t == "bool":
        return bool(spec["v"])
    if t == "null":
        return None
    if t == "obj":
        d = {}
        for k, v in spec["members"]:
            d[k] = build(v)
        return d
    if t == "arr":
        return [build(v) for v in spec["items"]]
    raise ValueError("unknown spec " + t)

def apply(obj, op):
    target = obj
    for p in op.get("path") or []:
        target = target[p]
    kind = op["op"]
    if kind == "set":
        target[op["key"]] = build(op["value"])
    elif kind == "delete":
        del target[op["key"]]
    elif kind == "append":
        target.append(build(op["value"]))
    elif kind == "remove":
        del target[op["index"]]
    elif kind == "put":
        target[op["index"]] = build(op["value"])
    else:
        raise ValueError("unknown op " + kind)

def answer(req):
    raw = base64.b64decode(req["doc"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return {"ok": False, "kind": "unicode", "msg": str(e), "bytepos": e.start}
    try:
        obj = json.loads(text)
        for op in req.get("ops") or []:
            apply(obj, op)
        out = json.dumps(obj, indent=2)
        alt = None
        if req.get("alt"):
            o = req["alt"]
            sep = o.get("separators")
            alt = json.dumps(obj, indent=o.get("indent"), ensure_ascii=o.get("ensure_ascii", True),
                             separators=tuple(sep) if sep else None)
    except json.JSONDecodeError as e:
        return {"ok": False, "kind": "syntax", "msg": e.msg, "pos": e.pos,
                "lineno": e.lineno, "colno": e.colno,
                "bytepos": len(text[:e.pos].encode("utf-8"))}
    except RecursionError as e:
        return {"ok": False, "kind": "recursion", "msg": str(e)}
    reply = {"ok": True, "out": base64.b64encode(out.encode("ascii")).decode("ascii")}
    if alt is not None:
        reply["alt"] = base64.b64encode(alt.encode("utf-8")).decode("ascii")
    return reply

for line in sys.stdin.buffer:
    try:
        reply = answer(json.loads(line))
    except Exception as e:
        reply = {"ok": False, "kind": "error", "msg": repr(e)}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
`

// oracle is one persistent python3 process that decodes, edits and
// re-encodes documents with Python's json module. It starts on first use;
// the cleanup registered by newOracle kills it by PID.
type oracle struct {
	mu    sync.Mutex
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	start error // why the process could not start; sticky
}

// oracleEdit is one edit, as the python side applies it.
type oracleEdit struct {
	Path  []any      `json:"path,omitempty"`
	Op    string     `json:"op"`
	Key   string     `json:"key"`
	Index int        `json:"index"`
	Value oracleSpec `json:"value,omitempty"`
}

// oracleSpec describes a value to build in Python without going through
// the encoder under test; see oracleScript.
type oracleSpec map[string]any

// oracleReply is Python's verdict on one request.
type oracleReply struct {
	OK      bool   `json:"ok"`
	Out     []byte `json:"out"` // base64 in the wire form
	Alt     []byte `json:"alt"` // the dump with the requested options
	Kind    string `json:"kind"`
	Msg     string `json:"msg"`
	Pos     int    `json:"pos"`
	Lineno  int    `json:"lineno"`
	Colno   int    `json:"colno"`
	BytePos int    `json:"bytepos"`
}

// newOracle returns an oracle for tb's lifetime. Nothing runs until the
// first query; a missing python3 then skips the calling test.
func newOracle(tb testing.TB) *oracle {
	o := &oracle{}
	tb.Cleanup(o.stop)
	return o
}

func (o *oracle) launch() error {
	path, err := exec.LookPath("python3")
	if err != nil {
		return fmt.Errorf("python3 is needed as the oracle for Python's json module: %w", err)
	}
	cmd := exec.Command(path, "-c", oracleScript)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start python3: %w", err)
	}
	o.cmd, o.in, o.out = cmd, in, bufio.NewReaderSize(out, 1<<16)
	return nil
}

func (o *oracle) stop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cmd == nil {
		return
	}
	o.in.Close()
	o.cmd.Process.Kill() // by PID; an already exited process is fine
	o.cmd.Wait()
	o.cmd = nil
}

// oracleDump asks for a second dump of the document, with other options
// than json.dumps(obj, indent=2).
type oracleDump struct {
	Indent      *int     `json:"indent"`
	Separators  []string `json:"separators,omitempty"`
	EnsureASCII bool     `json:"ensure_ascii"`
}

// query sends doc and edits to python and returns its reply. It skips tb
// when python3 is absent and fails it when the oracle itself breaks.
func (o *oracle) query(tb testing.TB, doc []byte, edits []oracleEdit) oracleReply {
	tb.Helper()
	return o.queryDump(tb, doc, edits, nil)
}

// queryDump is query with a second dump of the edited document.
func (o *oracle) queryDump(tb testing.TB, doc []byte, edits []oracleEdit, alt *oracleDump) oracleReply {
	tb.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cmd == nil && o.start == nil {
		o.start = o.launch()
	}
	if o.start != nil {
		if _, err := exec.LookPath("python3"); err != nil {
			tb.Skipf("skipping: %v", o.start)
		}
		tb.Fatalf("oracle: %v", o.start)
	}
	req, err := json.Marshal(struct {
		Doc []byte       `json:"doc"`
		Ops []oracleEdit `json:"ops,omitempty"`
		Alt *oracleDump  `json:"alt,omitempty"`
	}{doc, edits, alt})
	if err != nil {
		tb.Fatalf("oracle request: %v", err)
	}
	if _, err := o.in.Write(append(req, '\n')); err != nil {
		o.start = fmt.Errorf("write to python3: %w", err)
		tb.Fatalf("oracle: %v", o.start)
	}
	line, err := o.out.ReadBytes('\n')
	if err != nil {
		o.start = fmt.Errorf("read from python3: %w", err)
		tb.Fatalf("oracle: %v", o.start)
	}
	var r oracleReply
	if err := json.Unmarshal(line, &r); err != nil {
		tb.Fatalf("oracle reply %q: %v", line, err)
	}
	if !r.OK && r.Kind == "error" {
		tb.Fatalf("oracle could not run the request: %s", r.Msg)
	}
	return r
}

// specOf describes a Value built in Go so that Python can build the same
// value from its parts: strings travel as their UTF-8 bytes, numbers as
// their text. Parsed strings with escapes travel as JSON text, because a
// lone surrogate has no UTF-8 form.
func specOf(v *Value) oracleSpec {
	switch v.Kind() {
	case Null:
		return oracleSpec{"t": "null"}
	case Bool:
		b, _ := v.BoolValue()
		return oracleSpec{"t": "bool", "v": b}
	case Number:
		return oracleSpec{"t": "num", "text": v.NumberText()}
	case String:
		if v.raw {
			return oracleSpec{"t": "json", "b64": []byte(`"` + v.text + `"`)}
		}
		return oracleSpec{"t": "str", "b64": []byte(v.text)}
	case Array:
		items := []oracleSpec{}
		for _, e := range v.Elems() {
			items = append(items, specOf(e))
		}
		return oracleSpec{"t": "arr", "items": items}
	case Object:
		members := [][2]any{}
		for _, m := range v.Members() {
			if m.keyRaw {
				// The key's source text, decoded by Python itself.
				members = append(members, [2]any{json.RawMessage(`"` + m.keyText + `"`), specOf(m.Value)})
				continue
			}
			members = append(members, [2]any{m.Key, specOf(m.Value)})
		}
		return oracleSpec{"t": "obj", "members": members}
	}
	panic("specOf: kind " + v.Kind().String())
}
