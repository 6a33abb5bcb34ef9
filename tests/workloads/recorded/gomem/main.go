// A Go service for recording in a memory cgroup, driven by a load that varies over time (a
// compressed daily wave plus random bursts, 100 ms ticks).
//
//	gomem lru <capMiB>       a size-capped LRU cache: each request looks up a key from a growing
//	                         key space and, on a miss, stores a 1-16 KiB value, evicting the least
//	                         recently used entries beyond capMiB; plus 8-64 KiB of garbage. The
//	                         cache fills to its cap and stays there. Not a leak.
//	gomem sessions <capMiB>  a bounded session table (capMiB of live data) and a lot of garbage:
//	                         run with GOGC=100 and GOMEMLIMIT, the heap goal (2x live) reaches the
//	                         soft limit and the GC holds the heap under it. Not a leak.
//	gomem leak <permille>    the session table without expiry: each request's session is kept
//	                         for good with probability permille/1000, the rest are garbage. The
//	                         live heap grows at a rate that follows the load, past GOMEMLIMIT
//	                         (which only makes the GC run harder) until the kernel OOM-kills it.
//
// With RUNTIME_STATS set, every second it writes "committed used cap" (bytes, from runtime/metrics:
// what client_golang's go_memstats_sys_bytes - go_memstats_heap_released_bytes,
// go_memstats_heap_alloc_bytes and go_gc_gomemlimit_bytes report) to that file, replaced
// atomically, for the recorder to read beside the cgroup.
package main

import (
	"container/list"
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime/metrics"
	"strconv"
	"time"
)

var stats = []metrics.Sample{
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/gc/gomemlimit:bytes"},
}

func writeStats(path string) {
	metrics.Read(stats)
	committed := stats[0].Value.Uint64() - stats[1].Value.Uint64()
	line := fmt.Sprintf("%d %d %d\n", committed, stats[2].Value.Uint64(), stats[3].Value.Uint64())
	if os.WriteFile(path+".partial", []byte(line), 0o644) == nil {
		_ = os.Rename(path+".partial", path)
	}
}

type entry struct {
	key   int
	value []byte
}

var sink int

func main() {
	mode := os.Args[1]
	capMiB, _ := strconv.Atoi(os.Args[2])
	capBytes := capMiB << 20
	keepPermille := 1000
	if mode == "leak" {
		keepPermille, capBytes = capMiB, math.MaxInt
	}
	base := 200.0
	if s := os.Getenv("BASE_RATE"); s != "" {
		base, _ = strconv.ParseFloat(s, 64)
	}
	rnd := rand.New(rand.NewSource(1))
	order := list.New()
	index := map[int]*list.Element{}
	size := 0
	keys := 1000
	start := time.Now()
	burst := 1.0
	statsPath := os.Getenv("RUNTIME_STATS")
	for tick := 0; ; tick++ {
		if statsPath != "" && tick%10 == 0 {
			writeStats(statsPath)
		}
		t := time.Since(start).Seconds()
		u := rnd.Float64()
		if u < 0.01 {
			burst = 1 + 2*rnd.Float64()
		} else if u < 0.06 {
			burst = 1
		}
		rate := base * (1 + 0.6*math.Sin(2*math.Pi*t/240)) * burst
		requests := int(math.Max(1, rate/10))
		for i := 0; i < requests; i++ {
			garbage := make([]byte, 8192+rnd.Intn(57344))
			garbage[rnd.Intn(len(garbage))] = 1
			sink += len(garbage)
			var key int
			if mode == "lru" {
				keys++ // the key space grows; recent keys are hot
				key = keys - int(math.Abs(rnd.NormFloat64())*float64(keys)/8)
			} else {
				keys++ // sessions: every request opens one, the oldest expire (or, leaking, some never do)
				key = keys
			}
			if rnd.Intn(1000) >= keepPermille {
				continue
			}
			if el, ok := index[key]; ok {
				order.MoveToFront(el)
				continue
			}
			value := make([]byte, 1024+rnd.Intn(15360))
			rnd.Read(value)
			index[key] = order.PushFront(&entry{key, value})
			size += len(value)
			for size > capBytes {
				last := order.Back()
				e := last.Value.(*entry)
				order.Remove(last)
				delete(index, e.key)
				size -= len(e.value)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}
