package io.leakwatch.nettypost;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * Collects a raw (non-form) POST body from the HttpContent chunks of one request, modelled on
 * Jooby's HttpRawPostRequestDecoder (jooby-project/jooby#3453).
 *
 * <p>The caller owns each HttpContent and releases it after {@link #offer}; the decoder must hold
 * its own reference to whatever it keeps, and give it back in {@link #destroy}.
 *
 * <ul>
 *   <li>1.4.0: every chunk is retained into a composite buffer, released in destroy().
 *   <li>1.5.0: a body that arrives as one chunk (the common small POST) takes a zero-copy
 *       {@code readRetainedSlice} instead; destroy() only releases the composite, so the slice,
 *       and the pooled direct buffer under it, is never released. The leak.
 *   <li>1.5.1: the same zero-copy path, and destroy() releases the slice.
 * </ul>
 */
final class RawPostDecoder {
    private final BuildInfo build;
    private final CompositeByteBuf chunks;
    private ByteBuf single; // the zero-copy body (1.5.x), when the body came in one chunk
    private boolean first = true;
    private boolean destroyed;

    RawPostDecoder(ByteBufAllocator alloc, BuildInfo build) {
        this.build = build;
        this.chunks = alloc.compositeDirectBuffer(64);
    }

    void offer(HttpContent content) {
        ByteBuf buf = content.content();
        if (build.zeroCopy() && first && content instanceof LastHttpContent) {
            // The whole body in one chunk: keep a retained slice, no copy, no composite.
            single = buf.readRetainedSlice(buf.readableBytes());
        } else {
            if (single != null) {
                chunks.addComponent(true, single);
                single = null;
            }
            if (buf.isReadable()) {
                chunks.addComponent(true, buf.readRetainedSlice(buf.readableBytes()));
            }
        }
        first = false;
    }

    /** The body so far; valid until destroy(). */
    ByteBuf body() {
        return single != null ? single : chunks;
    }

    void destroy() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        chunks.release();
        if (single != null && build.releaseZeroCopy()) {
            single.release();
        }
        single = null;
    }
}
