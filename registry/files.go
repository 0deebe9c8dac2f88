package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// FileKind says which of the two registry formats a File holds.
type FileKind int

// The registry file kinds. The zero FileKind is neither.
const (
	// FileGlobal is a base's registry/GLOBAL_REGISTRY.json.
	FileGlobal FileKind = iota + 1
	// FileTask is a task's TASK-…/AGENT_REGISTRY.json.
	FileTask
)

// String returns "global" or "task", the words check --json uses.
func (k FileKind) String() string {
	switch k {
	case FileGlobal:
		return "global"
	case FileTask:
		return "task"
	}
	return fmt.Sprintf("FileKind(%d)", int(k))
}

// File is one registry file of a workspace base.
type File struct {
	// Path is the file's path: Base joined with the file's place in it.
	Path string
	// Kind says whether it is the global registry or a task registry.
	Kind FileKind
	// TaskID is the task directory's name for a FileTask, "" for a FileGlobal.
	TaskID string
	// Base is the workspace base the file belongs to, cleaned.
	Base string
	// Err, when set, says why the path cannot be read as a registry: it is
	// a FIFO, a directory, a device or a socket (an ErrNotRegular). It must
	// not be opened: a FIFO would block the reader.
	Err error
	// Size is the file's size when it was listed (0 where unknown).
	Size int64
}

// ErrNotRegular marks a path where a registry file belongs that holds
// something other than a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Files lists a base's registry files: registry/GLOBAL_REGISTRY.json if
// present, then TASK-*/AGENT_REGISTRY.json for every directory whose name is
// exactly TASK-YYYYMMDD-HHMMSS-<8 lower-case hex>, sorted by name. Other
// directories, and task directories without a registry, are ignored. A
// registry file that exists but cannot be examined (permission denied) is
// listed, so that reading it reports the error rather than hiding the file.
func Files(ctx context.Context, base string) ([]File, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list registry files: %w", err)
	}
	base = filepath.Clean(base)
	entries, err := os.ReadDir(base) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("list registry files: %w", err)
	}
	var files []File
	global := filepath.Join(base, globalRegistryDir, globalRegistryName)
	if ok, size, err := registryFileAt(global); ok {
		files = append(files, File{Path: global, Kind: FileGlobal, Base: base, Err: err, Size: size})
	}
	for _, e := range entries {
		name := e.Name()
		if !isTaskDirName(name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list registry files: %w", err)
		}
		p := filepath.Join(base, name, taskRegistryName)
		if ok, size, err := registryFileAt(p); ok {
			files = append(files, File{Path: p, Kind: FileTask, TaskID: name, Base: base, Err: err, Size: size})
		}
	}
	return files, nil
}

// registryFileAt reports whether something is at path where a registry
// belongs: a regular file, a file that cannot be examined, or anything else
// in the registry's place (a FIFO, a directory, a device), which is listed
// with an ErrNotRegular so that it is reported rather than silently
// skipped, and never opened (a FIFO would hang the read). size is a
// regular file's size.
func registryFileAt(path string) (ok bool, size int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR), 0, nil
	}
	if m := fi.Mode(); !m.IsRegular() {
		return true, 0, fmt.Errorf("read registry %s: it is %s, %w: move it away, or put the registry file back in its place", path, Describe(m), ErrNotRegular)
	}
	return true, fi.Size(), nil
}

// Describe says what a file that is not a regular file is, for a message:
// "a directory", "a named pipe (FIFO)", "a socket", "a device".
func Describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "something other than a file (" + m.Type().String() + ")"
}

// isTaskDirName reports whether name is exactly TASK-YYYYMMDD-HHMMSS-<8 hex>,
// the hex in lower case as the orchestrator writes it.
func isTaskDirName(name string) bool {
	const layout = "TASK-DDDDDDDD-DDDDDD-hhhhhhhh"
	if len(name) != len(layout) {
		return false
	}
	for i := 0; i < len(layout); i++ {
		c := name[i]
		switch layout[i] {
		case 'D':
			if c < '0' || c > '9' {
				return false
			}
		case 'h':
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		default:
			if c != layout[i] {
				return false
			}
		}
	}
	return true
}

// IsBase reports whether dir is a workspace base: a directory holding at
// least one registry file, or the state database of the orchestrator's
// SQLite era, registry/state.sqlite3.
func IsBase(ctx context.Context, dir string) bool { return isBaseDir(ctx, dir) }

// stateDBName is the state database of a base of the SQLite era, in its
// registry/ directory (package statedb reads it).
const stateDBName = "state.sqlite3"

// isBaseDir reports whether dir is a directory holding at least one
// registry file or a state database.
func isBaseDir(ctx context.Context, dir string) bool {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return false
	}
	if fi, err := os.Stat(filepath.Join(dir, globalRegistryDir, stateDBName)); err == nil && fi.Mode().IsRegular() {
		return true
	}
	files, err := Files(ctx, dir)
	return err == nil && len(files) > 0
}

// Era says which of the orchestrator's eras a base is of: "sqlite" when it
// has a state database, "json" otherwise.
func Era(dir string) string {
	if _, err := os.Lstat(filepath.Join(dir, globalRegistryDir, stateDBName)); err == nil {
		return "sqlite"
	}
	return "json"
}

// IsTaskDir reports whether a path's last element is a task directory's
// name: TASK-YYYYMMDD-HHMMSS-<8 hex>.
func IsTaskDir(path string) bool { return isTaskDirName(filepath.Base(path)) }

// SamePath reports whether two paths name one file or directory: the same
// clean path, or, where both exist, the same file (a spelling through a
// symbolic link, /tmp and /private/tmp).
func SamePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// ShortName names a registry by what tells it apart in a report: GLOBAL
// for a workspace's global registry, STATE for its state database, or the
// task directory of a task registry.
func ShortName(path string) string {
	dir := filepath.Base(filepath.Dir(path))
	switch {
	case dir != "registry":
		return dir
	case filepath.Base(path) == stateDBName:
		return "STATE"
	}
	return "GLOBAL"
}
