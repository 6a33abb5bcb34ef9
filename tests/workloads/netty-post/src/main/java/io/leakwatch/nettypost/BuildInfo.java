package io.leakwatch.nettypost;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** What this jar was built as: the release and its decoder behaviour (see pom.xml profiles). */
record BuildInfo(String version, boolean zeroCopy, boolean releaseZeroCopy) {

    static BuildInfo load() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("/netty-post-build.properties")) {
            if (in == null) {
                throw new IllegalStateException("netty-post-build.properties missing from the jar");
            }
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new BuildInfo(
                p.getProperty("version"),
                Boolean.parseBoolean(p.getProperty("decoder.zeroCopy")),
                Boolean.parseBoolean(p.getProperty("decoder.releaseZeroCopy")));
    }
}
