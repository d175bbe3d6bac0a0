package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
)

// Call-associated data (CAD, SPEC D2): a queue — the flow a call enters —
// defines typed variables that agents see and edit during the call. Only
// the definitions are stored; the values live on the call (package call).

// VarType is the type of a CAD variable's value.
type VarType string

// Variable types. Values are always carried as text; the type says how
// the text must parse.
const (
	VarString   VarType = "string"
	VarInteger  VarType = "integer"  // base-10, 64-bit
	VarBoolean  VarType = "boolean"  // "true" | "false"
	VarDatetime VarType = "datetime" // ISO 8601 / RFC 3339, e.g. 2025-01-31T14:05:00+01:00
)

// Valid reports whether t is one of the variable types.
func (t VarType) Valid() bool {
	switch t {
	case VarString, VarInteger, VarBoolean, VarDatetime:
		return true
	}
	return false
}

// MaxQueueVariables is how many variables a queue may define: the agent
// desktop shows at most 30.
const MaxQueueVariables = 30

// MaxVariableName is the longest variable name.
const MaxVariableName = 32

// ErrTooManyVariables is returned when a queue already has
// MaxQueueVariables variables; it is an ErrInvalid.
var ErrTooManyVariables = fmt.Errorf("a queue has at most %d variables: %w", MaxQueueVariables, ErrInvalid)

// variableName is an identifier: a letter or underscore, then letters,
// digits and underscores.
var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidVariableName reports whether name is an identifier of at most
// MaxVariableName characters.
func ValidVariableName(name string) bool {
	return len(name) <= MaxVariableName && variableName.MatchString(name)
}

// Variable is the definition of one CAD variable of a queue.
type Variable struct {
	ID       int64
	Queue    string // queue number
	Name     string // identifier, unique per queue
	Label    string // shown to agents; the name when empty
	Type     VarType
	Order    int  // display order, ascending; ties in creation order
	Editable bool // agents may change the value during the call
	Secure   bool // PII: masked for those not handling the call
}

func checkVariable(v Variable) error {
	if !ValidVariableName(v.Name) {
		return fmt.Errorf("variable name %q: must be an identifier of at most %d characters: %w", v.Name, MaxVariableName, ErrInvalid)
	}
	if !v.Type.Valid() {
		return fmt.Errorf("variable %s: type %q: %w", v.Name, v.Type, ErrInvalid)
	}
	return nil
}

const variableColumns = `v.id, q.number, v.name, v.label, v.type, v.position, v.editable, v.secure`

func scanVariable(sc interface{ Scan(...any) error }) (Variable, error) {
	var v Variable
	var typ string
	err := sc.Scan(&v.ID, &v.Queue, &v.Name, &v.Label, &typ, &v.Order, &v.Editable, &v.Secure)
	v.Type = VarType(typ)
	return v, err
}

// queueID returns the id of the queue with the given number (ErrNotFound).
func queueID(ctx context.Context, db interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, number string) (int64, error) {
	var id int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM queues WHERE number = ?`, number).Scan(&id); err != nil {
		return 0, fmt.Errorf("queue %s: %w", number, mapErr(err))
	}
	return id, nil
}

// QueueVariables lists the variables of a queue in display order (order,
// then creation); ErrNotFound when there is no such queue.
func (s *Store) QueueVariables(ctx context.Context, queue string) ([]Variable, error) {
	id, err := queueID(ctx, s.r, queue)
	if err != nil {
		return nil, fmt.Errorf("variables: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+variableColumns+`
		FROM queue_variables v JOIN queues q ON q.id = v.queue_id
		WHERE v.queue_id = ? ORDER BY v.position, v.id`, id)
	if err != nil {
		return nil, fmt.Errorf("variables of queue %s: %w", queue, err)
	}
	defer rows.Close()
	vs := []Variable{}
	for rows.Next() {
		v, err := scanVariable(rows)
		if err != nil {
			return nil, fmt.Errorf("variables of queue %s: %w", queue, err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("variables of queue %s: %w", queue, err)
	}
	return vs, nil
}

// QueueVariable returns one variable; ErrNotFound when the queue or the
// variable does not exist.
func (s *Store) QueueVariable(ctx context.Context, queue, name string) (Variable, error) {
	v, err := scanVariable(s.r.QueryRowContext(ctx, `SELECT `+variableColumns+`
		FROM queue_variables v JOIN queues q ON q.id = v.queue_id
		WHERE q.number = ? AND v.name = ?`, queue, name))
	if err != nil {
		return Variable{}, fmt.Errorf("variable %s of queue %s: %w", name, queue, mapErr(err))
	}
	return v, nil
}

// CreateQueueVariable adds a variable to a queue. ErrNotFound when there is
// no such queue, ErrConflict when the name is taken in it,
// ErrTooManyVariables when it has MaxQueueVariables already, ErrInvalid on
// a bad name or type. The count and the insert share one transaction, so
// concurrent creates cannot pass the limit.
func (s *Store) CreateQueueVariable(ctx context.Context, queue string, v Variable) (Variable, error) {
	if err := checkVariable(v); err != nil {
		return Variable{}, fmt.Errorf("create variable: %w", err)
	}
	v.Queue = queue
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		id, err := queueID(ctx, tx, queue)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM queue_variables WHERE queue_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n >= MaxQueueVariables {
			return ErrTooManyVariables
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO queue_variables
			(queue_id, name, label, type, position, editable, secure) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, v.Name, v.Label, string(v.Type), v.Order, v.Editable, v.Secure)
		if err != nil {
			return mapErr(err)
		}
		v.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return Variable{}, fmt.Errorf("create variable %s of queue %s: %w", v.Name, queue, err)
	}
	return v, nil
}

// UpdateQueueVariable changes a variable in one transaction: fn edits the
// stored definition; label, type, order, editable and secure are written
// back (ID, queue and name do not change). An error from fn aborts the
// update and is returned wrapped. ErrNotFound when the queue or variable
// does not exist, ErrInvalid on a bad type.
func (s *Store) UpdateQueueVariable(ctx context.Context, queue, name string, fn func(*Variable) error) (Variable, error) {
	var v Variable
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		v, err = scanVariable(tx.QueryRowContext(ctx, `SELECT `+variableColumns+`
			FROM queue_variables v JOIN queues q ON q.id = v.queue_id
			WHERE q.number = ? AND v.name = ?`, queue, name))
		if err != nil {
			return mapErr(err)
		}
		orig := v
		if err := fn(&v); err != nil {
			return err
		}
		v.ID, v.Queue, v.Name = orig.ID, orig.Queue, orig.Name
		if err := checkVariable(v); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE queue_variables
			SET label = ?, type = ?, position = ?, editable = ?, secure = ? WHERE id = ?`,
			v.Label, string(v.Type), v.Order, v.Editable, v.Secure, v.ID)
		return mapErr(err)
	})
	if err != nil {
		return Variable{}, fmt.Errorf("update variable %s of queue %s: %w", name, queue, err)
	}
	return v, nil
}

// DeleteQueueVariable removes a variable; ErrNotFound when the queue or
// the variable does not exist. Live calls keep the value, which is no
// longer shown.
func (s *Store) DeleteQueueVariable(ctx context.Context, queue, name string) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		id, err := queueID(ctx, tx, queue)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM queue_variables WHERE queue_id = ? AND name = ?`, id, name)
		if err != nil {
			return mapErr(err)
		}
		return affectedOne(res)
	})
	if err != nil {
		return fmt.Errorf("delete variable %s of queue %s: %w", name, queue, err)
	}
	return nil
}
