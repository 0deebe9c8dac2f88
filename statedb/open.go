package statedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLite's primary result codes that this package tells apart.
const (
	sqliteCorrupt = 11
	sqliteBusy    = 5
	sqliteLocked  = 6
	sqliteIOErr   = 10
	sqliteNotADB  = 26
	// sqliteIOErrShortRead is SQLITE_IOERR_SHORT_READ: a page past the end
	// of a truncated file.
	sqliteIOErrShortRead = sqliteIOErr | 2<<8
)

// checkFile makes sure path is a regular file that may be opened, without
// opening it: the database is never created, a FIFO or a directory is never
// opened (it could hang, or become a database), and a database of another
// user whose sidecars are missing is left alone (see ForeignOwnerError).
//
// Nothing here opens the file itself: closing any descriptor of a file drops
// every POSIX lock this process holds on it, SQLite's included.
func checkFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no database at %s (nothing was created): %w", path, err)
		}
		return err
	}
	switch {
	case st.IsDir():
		return fmt.Errorf("%s is a directory: %w; point at the database file itself", path, ErrNotDatabase)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%s): %w", path, fileKind(st.Mode()), ErrNotDatabase)
	case st.Size() == 0:
		return fmt.Errorf("%s is an empty file: %w; the orchestrator has not written it yet, or it was truncated", path, ErrNotDatabase)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	owner, euid := int(sys.Uid), os.Geteuid()
	if owner == euid {
		return nil
	}
	// SQLite run by root hands the sidecars it creates to the database's
	// owner; run by another user it cannot, so then the -wal must exist too.
	sidecars := []string{"-shm"}
	if euid != 0 {
		sidecars = append(sidecars, "-wal")
	}
	for _, side := range sidecars {
		if _, err := os.Lstat(path + side); errors.Is(err, fs.ErrNotExist) {
			return &ForeignOwnerError{Path: path, Owner: owner, User: euid, Missing: side}
		} else if err != nil {
			return fmt.Errorf("check %s%s: %w", path, side, err)
		}
	}
	return nil
}

// fileKind names a file type that is not a database.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

// dsn is the driver's data source name for path: an SQLite URI with the path
// escaped (so that '?', '#', '%' and spaces in it stay part of the path),
// the open mode ("ro" or "rw": neither creates the file) and a busy timeout.
func dsn(path, mode string, busy time.Duration) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	ms := busy.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return fmt.Sprintf("file:%s?mode=%s&_pragma=busy_timeout(%d)", escapePath(filepath.ToSlash(abs)), mode, ms), nil
}

// escapePath percent-encodes every byte of p but the unreserved ones and
// '/', which is always safe in the path of an SQLite URI.
func escapePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '/', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// session is one connection to one database, for one call.
type session struct {
	db   *sql.DB
	conn *sql.Conn
}

// open checks path (checkFile) and opens one connection to it in mode "ro"
// or "rw". The caller closes it.
func open(ctx context.Context, path, mode string, busy time.Duration) (*session, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	name, err := dsn(path, mode, busy)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &session{db: db, conn: conn}, nil
}

// close releases the connection and the pool: nothing stays open between
// calls.
func (s *session) close() error {
	err := s.conn.Close()
	return errors.Join(err, s.db.Close())
}

// sqliteCode is the extended result code of an SQLite error, 0 when err is
// none.
func sqliteCode(err error) int {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()
	}
	return 0
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED, in any of
// their extended forms.
func isBusy(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqliteBusy, sqliteLocked:
		return true
	}
	return false
}

// classify maps an SQLite error to this package's sentinels: ErrBusy for a
// lock held past the wait, ErrNotDatabase for a file that is not a sound
// SQLite database. Other errors are returned as they are.
//
// hint is what the caller can do about a busy database.
func classify(path string, err error, waited time.Duration, hint string) error {
	if err == nil {
		return nil
	}
	code := sqliteCode(err)
	switch {
	case isBusy(err):
		return fmt.Errorf("%s stayed locked by another connection for %s (%v): %w; %s",
			path, roundWait(waited), err, ErrBusy, hint)
	case code&0xff == sqliteNotADB, code&0xff == sqliteCorrupt, code == sqliteIOErrShortRead:
		return fmt.Errorf("%s: %w (%v); it is not one of the orchestrator's databases, or it is damaged: "+
			"check the path, and look for a backup if it should be one", path, ErrNotDatabase, err)
	}
	return err
}

// What to do about a busy database, for a read and for a write.
const (
	readBusyHint  = "the orchestrator is writing a long transaction; try again"
	writeBusyHint = "the orchestrator is writing a long transaction; try again, or raise --lock-timeout"
)

// roundWait shortens a measured wait for a message: "2s", not "2.000184s".
func roundWait(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
