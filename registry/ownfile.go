package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrForeignFile is what every ForeignFileError is: where agentwatch keeps
// a file of its own (a journal, its temporary names, the state directory
// and its backups), it found something it did not create.
var ErrForeignFile = errors.New("a file agentwatch did not create is in its place")

// ForeignFileError reports an entry at one of agentwatch's own paths that
// agentwatch neither reads nor writes through: a symbolic link, something
// other than a regular file or directory, or a file of another user. In a
// directory that another user can write, such an entry is how a process
// running as root would be made to write over a file of the attacker's
// choosing. It matches ErrForeignFile with errors.Is.
type ForeignFileError struct {
	// What names the entry ("journal", "state directory").
	What, Path string
	// Why says what is wrong with it.
	Why string
	// Hint says what to do, "" for the default.
	Hint string
}

func (e *ForeignFileError) Error() string {
	hint := e.Hint
	if hint == "" {
		hint = "remove it (after checking who put it there), then try again"
	}
	return fmt.Sprintf("%s %s is not agentwatch's: %s; agentwatch neither reads nor writes through it: %s", e.What, e.Path, e.Why, hint)
}

// Is makes errors.Is(err, ErrForeignFile) true.
func (e *ForeignFileError) Is(target error) bool { return target == ErrForeignFile }

// ownerOf returns the uid owning the file fi describes, -1 if unknown.
func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// foreign says why fi, the Lstat or Stat of an entry agentwatch would
// treat as its own, is not: "" when it is a regular file (a directory when
// dir) owned by one of owners.
func foreign(fi fs.FileInfo, dir bool, owners ...int) string {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return "it is a symbolic link"
	case dir && !fi.IsDir():
		return "it is not a directory"
	case !dir && !fi.Mode().IsRegular():
		return "it is not a regular file"
	}
	uid := ownerOf(fi)
	for _, o := range owners {
		if uid == o {
			return ""
		}
	}
	return fmt.Sprintf("it is owned by uid %d", uid)
}

// openOwn opens the file at path for reading without following a link or
// waiting on a FIFO, and returns it only when it is a regular file owned by
// one of owners; else a *ForeignFileError naming it what. A missing file
// is an error matching fs.ErrNotExist.
func openOwn(what, path string, owners ...int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &ForeignFileError{What: what, Path: path, Why: "it is a symbolic link"}
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if why := foreign(fi, false, owners...); why != "" {
		f.Close()
		return nil, &ForeignFileError{What: what, Path: path, Why: why}
	}
	return f, nil
}

// createOwn creates a new file at path for writing, never opening one
// that is already there and never following a link (O_CREAT|O_EXCL|
// O_NOFOLLOW; Go adds O_CLOEXEC).
func createOwn(path string, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
}

// isOwn reports whether the entry at path is a regular file owned by one
// of owners; a missing one is not, and neither is a link.
func isOwn(path string, owners ...int) bool {
	fi, err := os.Lstat(path)
	return err == nil && foreign(fi, false, owners...) == ""
}

// privateDir makes dir a directory of agentwatch's own: created 0700 when
// missing, and refused when it is a symbolic link, not a directory, or
// owned by another user, so that nothing agentwatch keeps there can be
// redirected or read by someone else.
func privateDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if why := foreign(fi, true, os.Geteuid()); why != "" {
		return &ForeignFileError{What: "state directory", Path: dir, Why: why,
			Hint: "remove it, or give agentwatch a state directory of its own user (--state-dir)"}
	}
	return nil
}

// PrivateDir makes dir a directory of agentwatch's own, as the state
// directory must be (see privateDir); its parents are created as needed.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	return privateDir(dir)
}

// OpenOwnAppend opens path for appending — created 0600 when missing —
// never through a link, and only when it is a regular file of this user:
// agentwatch's audit log.
func OpenOwnAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		if why := foreign(fi, false, os.Geteuid()); why != "" {
			err = &ForeignFileError{What: "audit log", Path: path, Why: why, Hint: "remove it, or give agentwatch a state directory of its own"}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
