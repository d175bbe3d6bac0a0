package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestQueueVariablesCRUD(t *testing.T) {
	ctx := context.Background()
	f := newCRUDFixture(t)
	s := f.s

	if vs, err := s.QueueVariables(ctx, "8000"); err != nil || len(vs) != 0 {
		t.Fatalf("no variables yet: %v %v", vs, err)
	}
	if _, err := s.QueueVariables(ctx, "9999"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown queue: %v, want ErrNotFound", err)
	}

	defs := []Variable{
		{Name: "note", Label: "Note", Type: VarString, Order: 5},
		{Name: "customer_id", Label: "Customer", Type: VarInteger, Order: 1, Editable: true},
		{Name: "ssn", Type: VarString, Order: 5, Editable: true, Secure: true},
	}
	for _, v := range defs {
		got, err := s.CreateQueueVariable(ctx, "8000", v)
		if err != nil {
			t.Fatalf("create %s: %v", v.Name, err)
		}
		if got.ID == 0 || got.Queue != "8000" {
			t.Errorf("created %+v", got)
		}
	}
	vs, err := s.QueueVariables(ctx, "8000")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vs {
		names = append(names, v.Name)
	}
	// By order, then creation.
	if strings.Join(names, ",") != "customer_id,note,ssn" {
		t.Errorf("order %v", names)
	}
	if !vs[2].Secure || !vs[2].Editable || vs[0].Type != VarInteger || vs[0].Label != "Customer" {
		t.Errorf("read back %+v", vs)
	}

	bad := []struct {
		name  string
		queue string
		v     Variable
		want  error
	}{
		{"taken name", "8000", Variable{Name: "note", Type: VarString}, ErrConflict},
		{"no queue", "9999", Variable{Name: "x", Type: VarString}, ErrNotFound},
		{"bad type", "8000", Variable{Name: "x", Type: "money"}, ErrInvalid},
		{"bad name", "8000", Variable{Name: "1x", Type: VarString}, ErrInvalid},
		{"name with dash", "8000", Variable{Name: "a-b", Type: VarString}, ErrInvalid},
		{"long name", "8000", Variable{Name: strings.Repeat("a", 33), Type: VarString}, ErrInvalid},
	}
	for _, tt := range bad {
		if _, err := s.CreateQueueVariable(ctx, tt.queue, tt.v); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := s.CreateQueueVariable(ctx, "8000", Variable{Name: strings.Repeat("a", 32), Type: VarString}); err != nil {
		t.Errorf("32-character name: %v", err)
	}

	v, err := s.UpdateQueueVariable(ctx, "8000", "note", func(v *Variable) error {
		v.Name, v.Label, v.Type, v.Order, v.Editable = "renamed", "Remark", VarDatetime, 0, true
		return nil
	})
	if err != nil || v.Name != "note" || v.Label != "Remark" || v.Type != VarDatetime || !v.Editable {
		t.Fatalf("update: %+v %v", v, err)
	}
	if got, err := s.QueueVariable(ctx, "8000", "note"); err != nil || got != v {
		t.Errorf("read after update: %+v %v, want %+v", got, err, v)
	}
	if _, err := s.UpdateQueueVariable(ctx, "8000", "nope", func(*Variable) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("update unknown: %v", err)
	}
	if _, err := s.UpdateQueueVariable(ctx, "8000", "note", func(v *Variable) error { v.Type = "x"; return nil }); !errors.Is(err, ErrInvalid) {
		t.Errorf("update to bad type: %v", err)
	}
	if _, err := s.UpdateQueueVariable(ctx, "8000", "note", func(*Variable) error { return errAbort }); !errors.Is(err, errAbort) {
		t.Errorf("abort: %v", err)
	}

	if err := s.DeleteQueueVariable(ctx, "8000", "note"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteQueueVariable(ctx, "8000", "note"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := s.QueueVariable(ctx, "8000", "note"); !errors.Is(err, ErrNotFound) {
		t.Errorf("read deleted: %v", err)
	}

	// Deleting the queue deletes its variables.
	if err := s.DeleteQueue(ctx, "8000"); !errors.Is(err, ErrInUse) {
		t.Fatalf("queue with a DID: %v", err)
	}
}

func TestQueueVariablesLimit(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.CreateQueue(ctx, Queue{Number: "8001", Name: "Sales"}); err != nil {
		t.Fatal(err)
	}
	for i := range MaxQueueVariables {
		if _, err := s.CreateQueueVariable(ctx, "8001", Variable{Name: fmt.Sprintf("v%d", i), Type: VarString}); err != nil {
			t.Fatalf("variable %d: %v", i, err)
		}
	}
	_, err := s.CreateQueueVariable(ctx, "8001", Variable{Name: "one_more", Type: VarString})
	if !errors.Is(err, ErrTooManyVariables) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("31st variable: %v, want ErrTooManyVariables", err)
	}
	if err := s.DeleteQueueVariable(ctx, "8001", "v0"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateQueueVariable(ctx, "8001", Variable{Name: "one_more", Type: VarString}); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	if err := s.DeleteQueue(ctx, "8001"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateQueue(ctx, Queue{Number: "8001", Name: "Sales again"}); err != nil {
		t.Fatal(err)
	}
	if vs, err := s.QueueVariables(ctx, "8001"); err != nil || len(vs) != 0 {
		t.Errorf("a recreated queue inherits variables: %v %v", vs, err)
	}
}
