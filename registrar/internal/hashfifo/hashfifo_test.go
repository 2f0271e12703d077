package hashfifo

import "testing"

// Hashes come out in the order they went in, across wrap-arounds and growth.
func TestQueueKeepsInsertionOrder(t *testing.T) {
	var r Queue
	next, want := uint64(0), uint64(0)
	for round := range 50 {
		for range round % 7 {
			r.Push(next, 100)
			next++
		}
		for range round % 5 {
			if r.Len() == 0 {
				break
			}
			if r.Front() != want {
				t.Fatalf("front %d, want %d", r.Front(), want)
			}
			if got := r.Pop(); got != want {
				t.Fatalf("pop %d, want %d", got, want)
			}
			want++
		}
		if r.Len() != int(next-want) {
			t.Fatalf("len %d, want %d", r.Len(), next-want)
		}
	}
}

func TestQueueNeverGrowsPastItsLimit(t *testing.T) {
	var r Queue
	for i := range uint64(10) {
		r.Push(i, 10)
	}
	if cap(r.buf) > 10 {
		t.Fatalf("buffer of %d for a limit of 10", cap(r.buf))
	}
}
