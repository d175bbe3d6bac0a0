package procstat

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, in string
		want     Stat
		err      bool
	}{
		{"plain", "42 (switchboard) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0", Stat{"S", 325}, false},
		{"name with spaces and parens", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", Stat{"R", 7}, false},
		{"zombie", "9 (x) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0", Stat{"Z", 0}, false},
		{"no command", "42 S 1 2 3", Stat{}, true},
		{"short", "42 (x) S 1 2 3", Stat{}, true},
		{"bad times", "42 (x) S 1 42 42 0 -1 0 0 0 0 0 a b", Stat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tt.in))
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseStat(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	got, err := ParseStatus([]byte("Name:\tswitchboard\nVmRSS:\t   61680 kB\nThreads:\t12\n"))
	if err != nil || got != (Status{RSSKB: 61680, Threads: 12}) {
		t.Errorf("ParseStatus = %+v, %v", got, err)
	}
	if _, err := ParseStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("no VmRSS: no error")
	}
}

// TestThisProcess reads the test binary's own entries.
func TestThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	pid := os.Getpid()
	if !Alive(pid) || RSSKB(pid) <= 0 {
		t.Errorf("this process: alive %v, RSS %d kB", Alive(pid), RSSKB(pid))
	}
	if CPUTicks(-1) != 0 || RSSKB(0) != 0 || Alive(0) {
		t.Error("no pid must read as nothing")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (switchboard) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0"))
	f.Add([]byte("7 (a (b) c) R"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseStat(b)
		_, _ = ParseStatus(b)
	})
}
