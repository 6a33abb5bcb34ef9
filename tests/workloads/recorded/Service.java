// A request loop whose memory is what a JVM service's would be, driven by a load that varies over
// time (a compressed daily wave plus random bursts), for recording in a memory cgroup.
//
//   java Service plateau <liveCapMiB>  a bounded session cache: each request stores a 1-8 KiB value
//                                      and evicts the eldest once the cache holds liveCapMiB, plus
//                                      16-48 KiB of garbage per request. Not a leak.
//   java Service leak                  each request also retains a 2-10 KiB direct ByteBuffer
//                                      (allocateDirect zeroes it, so it is resident) and never
//                                      releases it: a leak until the kernel OOM-kills the JVM.
//
// With RUNTIME_STATS set, every second it writes "committed used max" of its heap (bytes, from the
// MemoryMXBean, what Micrometer's jvm_memory_*_bytes{area="heap"} report) to that file, replaced
// atomically, for the recorder to read beside the cgroup.
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

public final class Service {
    static long sink;

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        long liveCap = args.length > 1 ? Long.parseLong(args[1]) << 20 : 0;
        double baseRate = Double.parseDouble(System.getenv().getOrDefault("BASE_RATE", "200"));
        Random rnd = new Random(Long.parseLong(System.getenv().getOrDefault("SEED", "1")));
        LinkedHashMap<Long, byte[]> cache = new LinkedHashMap<>(1024, 0.75f, true);
        long cacheBytes = 0;
        List<ByteBuffer> leaked = new ArrayList<>();
        long start = System.nanoTime();
        long key = 0;
        double burst = 1.0;
        String statsPath = System.getenv("RUNTIME_STATS");
        long tick = 0;
        while (true) {
            if (statsPath != null && tick++ % 10 == 0) writeStats(Paths.get(statsPath));
            double t = (System.nanoTime() - start) / 1e9;
            if (rnd.nextDouble() < 0.01) burst = 1.0 + 2.0 * rnd.nextDouble();  // a burst starts
            else if (rnd.nextDouble() < 0.05) burst = 1.0;                        // or ends
            double rate = baseRate * (1.0 + 0.6 * Math.sin(2 * Math.PI * t / 240.0)) * burst;
            int requests = (int) Math.max(1, rate / 10);  // 100 ms ticks
            for (int i = 0; i < requests; i++) {
                byte[] garbage = new byte[16384 + rnd.nextInt(32768)];
                garbage[rnd.nextInt(garbage.length)] = 1;
                sink += garbage.length;
                if (mode.equals("plateau")) {
                    byte[] value = new byte[1024 + rnd.nextInt(7168)];
                    rnd.nextBytes(value);
                    cache.put(key++, value);
                    cacheBytes += value.length;
                    while (cacheBytes > liveCap) {
                        Map.Entry<Long, byte[]> eldest = cache.entrySet().iterator().next();
                        cacheBytes -= eldest.getValue().length;
                        cache.remove(eldest.getKey());
                    }
                    if (rnd.nextInt(4) == 0 && key > 10) cache.get(key - 1 - rnd.nextInt((int) Math.min(key - 1, 5000)));
                } else {
                    leaked.add(ByteBuffer.allocateDirect(2048 + rnd.nextInt(8192)));
                }
            }
            Thread.sleep(100);
        }
    }

    static void writeStats(Path path) throws Exception {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        Path partial = Paths.get(path + ".partial");
        Files.writeString(partial, heap.getCommitted() + " " + heap.getUsed() + " " + heap.getMax() + "\n");
        Files.move(partial, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
