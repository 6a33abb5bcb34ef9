package io.leakwatch.nettypost;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.internal.PlatformDependent;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;

/**
 * A small Netty HTTP server that reads raw POST bodies through its own decoder.
 *
 * <p>Usage: java -jar netty-post-VERSION.jar [httpPort] [metricsPort]; both bind 127.0.0.1.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        int httpPort = args.length > 0 ? Integer.parseInt(args[0]) : 8080;
        int metricsPort = args.length > 1 ? Integer.parseInt(args[1]) : 9400;
        BuildInfo build = BuildInfo.load();
        PooledByteBufAllocator alloc = new PooledByteBufAllocator(true); // pooled, direct

        JvmMetrics.builder().register(); // jvm_*, process_* and, with NMT on, jvm_native_memory_*
        Info info = Info.builder().name("app_info").help("The release of this service.").labelNames("version").register();
        info.addLabelValues(build.version());
        Counter requests = Counter.builder()
                .name("netty_post_requests_total")
                .help("POST requests answered, by status.")
                .labelNames("status")
                .register();
        GaugeWithCallback.builder()
                .name("netty_pooled_direct_memory_bytes")
                .help("Direct memory held by the pooled allocator's arenas.")
                .callback(cb -> cb.call(alloc.metric().usedDirectMemory()))
                .register();
        HTTPServer metrics = HTTPServer.builder().hostname("127.0.0.1").port(metricsPort).buildAndStart();

        EventLoopGroup boss = new NioEventLoopGroup(1);
        EventLoopGroup workers = new NioEventLoopGroup(1);
        try {
            Channel server = new ServerBootstrap()
                    .group(boss, workers)
                    .channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.ALLOCATOR, alloc)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new PostHandler(build, requests));
                        }
                    })
                    .bind("127.0.0.1", httpPort)
                    .sync()
                    .channel();
            System.out.printf(
                    "netty-post %s listening on 127.0.0.1:%d, metrics on 127.0.0.1:%d "
                            + "(zeroCopy=%s releaseZeroCopy=%s maxDirectMemory=%d noCleaner=%s)%n",
                    build.version(), httpPort, metrics.getPort(), build.zeroCopy(), build.releaseZeroCopy(),
                    PlatformDependent.maxDirectMemory(), PlatformDependent.useDirectBufferNoCleaner());
            server.closeFuture().sync();
        } finally {
            boss.shutdownGracefully();
            workers.shutdownGracefully();
            metrics.close();
        }
    }
}
