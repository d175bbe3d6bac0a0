// Package procstat reads a process's CPU time, memory and state from Linux
// /proc, for the tools that measure Switchboard from outside: the load
// mode of the simulator and the programs under bench/.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ClockTicks is USER_HZ, the unit of CPUTicks: 100 on Linux.
const ClockTicks = 100

// Stat is what /proc/<pid>/stat says of a process.
type Stat struct {
	State string // R, S, D, Z, X …
	Ticks int64  // utime + stime, in ClockTicks
}

// Status is what /proc/<pid>/status says of a process.
type Status struct {
	RSSKB   int64 // VmRSS
	Threads int64
}

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	if pid <= 0 {
		return Stat{}, fmt.Errorf("procstat: no process %d", pid)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(b)
}

// ParseStat parses a /proc/<pid>/stat line. The command name sits in
// parentheses and may hold spaces and parentheses itself, so the fields
// are counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, errors.New("procstat: stat without a command name")
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return Stat{}, fmt.Errorf("procstat: stat has %d fields after the command, want at least 13", len(f))
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	s, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return Stat{}, fmt.Errorf("procstat: stat times: %w", err)
	}
	return Stat{State: string(f[0]), Ticks: u + s}, nil
}

// ReadStatus reads /proc/<pid>/status.
func ReadStatus(pid int) (Status, error) {
	if pid <= 0 {
		return Status{}, fmt.Errorf("procstat: no process %d", pid)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Status{}, err
	}
	return ParseStatus(b)
}

// ParseStatus parses /proc/<pid>/status ("Key:\tvalue [kB]" lines).
func ParseStatus(b []byte) (Status, error) {
	var st Status
	seen := false
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch string(f[0]) {
		case "VmRSS:":
			n, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil {
				return Status{}, fmt.Errorf("procstat: VmRSS: %w", err)
			}
			st.RSSKB, seen = n, true
		case "Threads:":
			st.Threads, _ = strconv.ParseInt(string(f[1]), 10, 64)
		}
	}
	if !seen {
		return st, errors.New("procstat: status without VmRSS")
	}
	return st, nil
}

// CPUTicks is pid's utime+stime in ClockTicks, 0 when it cannot be read
// (no pid, the process gone): a measurement then shows nothing rather than
// failing the run.
func CPUTicks(pid int) int64 {
	s, err := ReadStat(pid)
	if err != nil {
		return 0
	}
	return s.Ticks
}

// RSSKB is pid's resident set in kB, 0 when it cannot be read.
func RSSKB(pid int) int64 {
	s, err := ReadStatus(pid)
	if err != nil {
		return 0
	}
	return s.RSSKB
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	s, err := ReadStat(pid)
	return err == nil && s.State != "Z" && s.State != "X"
}
