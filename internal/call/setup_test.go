package call

import (
	"errors"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

func failure(code int) forkResult {
	if code == 0 {
		return forkResult{err: errors.New("transaction timeout")}
	}
	res := sip.NewResponse(code, "reason")
	return forkResult{err: &sipgo.ErrDialogResponse{Res: res}}
}

func TestBestFailure(t *testing.T) {
	tests := []struct {
		name  string
		codes []int
		want  int
	}{
		{"one busy", []int{486}, 486},
		{"busy beats unavailable", []int{480, 486}, 486},
		{"decline beats busy", []int{486, 603}, 603},
		{"lowest class otherwise", []int{503, 404}, 404},
		{"no response at all", []int{0, 0}, 480},
		{"no response and a busy", []int{0, 486}, 486},
		{"cancelled fork only", []int{487}, 480},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fs []forkResult
			for _, c := range tt.codes {
				fs = append(fs, failure(c))
			}
			if got, _ := bestFailure(fs); got != tt.want {
				t.Fatalf("bestFailure(%v) = %d, want %d", tt.codes, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		code  int
		disp  store.Disposition
		cause int
	}{
		{486, store.DispositionBusy, 17},
		{600, store.DispositionBusy, 17},
		{480, store.DispositionUnavailable, 20},
		{404, store.DispositionUnavailable, 20},
		{503, store.DispositionUnavailable, 20},
		{603, store.DispositionRejected, 21},
		{488, store.DispositionRejected, 21},
	}
	for _, tt := range tests {
		d, cause, _ := classify(tt.code)
		if d != tt.disp || cause != tt.cause {
			t.Errorf("classify(%d) = %s/%d, want %s/%d", tt.code, d, cause, tt.disp, tt.cause)
		}
	}
}

func TestPickCodecAvoidsTranscoding(t *testing.T) {
	caller := []mediaCodec{pcma, pcmu}
	if got := pickCodec(pcmu, caller); got.Name != "PCMU" {
		t.Errorf("callee PCMU, caller offered both: got %s", got.Name)
	}
	if got := pickCodec(pcmu, []mediaCodec{pcma}); got.Name != "PCMA" {
		t.Errorf("caller only PCMA: got %s, want PCMA (transcoded in the relay)", got.Name)
	}
}

type mediaCodec = media.Codec

var pcmu, pcma = media.PCMU, media.PCMA

func TestRequiredExtensions(t *testing.T) {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "1002", Host: "x"})
	if got := requiredExtensions(req); got != "" {
		t.Fatalf("no Require: %q", got)
	}
	req.AppendHeader(sip.NewHeader("Require", "100rel, timer"))
	req.AppendHeader(sip.NewHeader("Require", "foo"))
	if got := requiredExtensions(req); got != "100rel, timer, foo" {
		t.Fatalf("got %q", got)
	}
}
