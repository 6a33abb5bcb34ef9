package io.leakwatch.nettypost;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.prometheus.metrics.core.metrics.Counter;
import java.nio.charset.StandardCharsets;

/** POST /echo: decodes the raw body and answers with its length and a checksum. */
final class PostHandler extends SimpleChannelInboundHandler<HttpObject> {
    private final BuildInfo build;
    private final Counter requests;
    private RawPostDecoder decoder;
    private boolean keepAlive;

    PostHandler(BuildInfo build, Counter requests) {
        super(true); // releases every HttpObject after channelRead0
        this.build = build;
        this.requests = requests;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
        if (msg instanceof HttpRequest request) {
            keepAlive = HttpUtil.isKeepAlive(request);
            if (request.method() != HttpMethod.POST) {
                respond(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "POST only\n");
                requests.labelValues("405").inc();
                return;
            }
            decoder = new RawPostDecoder(ctx.alloc(), build);
        }
        if (msg instanceof HttpContent content && decoder != null) {
            decoder.offer(content);
            if (content instanceof LastHttpContent) {
                ByteBuf body = decoder.body();
                int length = body.readableBytes();
                int hash = ByteBufUtil.hashCode(body);
                decoder.destroy();
                decoder = null;
                respond(ctx, HttpResponseStatus.OK, "{\"bytes\":" + length + ",\"hash\":" + hash + "}\n");
                requests.labelValues("200").inc();
            }
        }
    }

    private void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String text) {
        FullHttpResponse response = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        HttpUtil.setContentLength(response, response.content().readableBytes());
        HttpUtil.setKeepAlive(response, keepAlive);
        var done = ctx.writeAndFlush(response);
        if (!keepAlive) {
            done.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (decoder != null) {
            decoder.destroy();
            decoder = null;
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        requests.labelValues("error").inc();
        if (decoder != null) {
            decoder.destroy();
            decoder = null;
        }
        System.err.println("netty-post: " + cause);
        ctx.close();
    }
}
