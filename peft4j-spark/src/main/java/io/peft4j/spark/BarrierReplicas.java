package io.peft4j.spark;

import io.peft4j.Peft4jException;
import io.peft4j.train.Replicas;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.spark.BarrierTaskContext;

/**
 * The tasks of a barrier stage as training replicas. They meet through the barrier context: each task opens a socket on
 * its executor's host and the addresses are exchanged with one {@link BarrierTaskContext#allGather}; after that the
 * gradients go over direct connections to task 0, which adds them in partition order and sends the sum back, so every
 * task holds the same bits. (Exchanging every step through the barrier context itself would cost up to a second a step:
 * Spark's barrier tasks poll the coordinator's answer once a second.) A task that fails closes its connections, so the
 * others fail too and the stage can be run again; a task whose stage is killed stops waiting within a second.
 */
final class BarrierReplicas implements Replicas, AutoCloseable {

    private static final int POLL_MILLIS = 1000;

    private final BarrierTaskContext context;
    private final int rank;
    private final int count;
    private final ServerSocket server;
    private final Socket[] peers; // task 0: one socket per other task (index = rank); others: [0] to task 0
    private long syncNanos;

    BarrierReplicas(BarrierTaskContext context) {
        this.context = context;
        this.rank = context.partitionId();
        this.count = context.getTaskInfos().length;
        this.peers = new Socket[count];
        try {
            String host = context.getTaskInfos()[rank].address();
            host = host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
            InetAddress bind = InetAddress.getByName(host);
            server = new ServerSocket();
            server.bind(new InetSocketAddress(bind, 0), count);
            server.setSoTimeout(POLL_MILLIS);
            String[] addresses = context.allGather(bind.getHostAddress() + ":" + server.getLocalPort());
            if (rank == 0) {
                for (int accepted = 1; accepted < count; accepted++) {
                    Socket s = accept();
                    s.setSoTimeout(POLL_MILLIS);
                    s.setTcpNoDelay(true);
                    int from = new DataInputStream(s.getInputStream()).readInt();
                    peers[from] = s;
                }
            } else {
                String[] hostPort = addresses[0].split(":");
                Socket s = new Socket(hostPort[0], Integer.parseInt(hostPort[1]));
                s.setSoTimeout(POLL_MILLIS);
                s.setTcpNoDelay(true);
                new DataOutputStream(s.getOutputStream()).writeInt(rank);
                peers[0] = s;
            }
        } catch (IOException e) {
            close();
            throw new Peft4jException("replica " + rank + " could not connect to the others: " + e, e);
        }
    }

    private Socket accept() throws IOException {
        while (true) {
            try {
                return server.accept();
            } catch (SocketTimeoutException e) {
                stopIfKilled();
            }
        }
    }

    private void stopIfKilled() {
        if (context.isInterrupted()) {
            throw new Peft4jException("replica " + rank + ": the stage was stopped");
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int count() {
        return count;
    }

    @Override
    public float[] sum(float[] local) {
        long start = System.nanoTime();
        try {
            float[] out;
            if (rank == 0) {
                out = local.clone();
                for (int r = 1; r < count; r++) { // partition order
                    float[] part = read(peers[r], local.length);
                    for (int i = 0; i < out.length; i++) {
                        out[i] += part[i];
                    }
                }
                byte[] bytes = bytes(out);
                for (int r = 1; r < count; r++) {
                    OutputStream o = peers[r].getOutputStream();
                    o.write(bytes);
                    o.flush();
                }
            } else {
                OutputStream o = peers[0].getOutputStream();
                o.write(bytes(local));
                o.flush();
                out = read(peers[0], local.length);
            }
            return out;
        } catch (IOException e) {
            throw new Peft4jException(
                    "replica " + rank + ": the gradient exchange failed (" + e + "); another task has probably failed",
                    e);
        } finally {
            syncNanos += System.nanoTime() - start;
        }
    }

    /** Time spent in the exchanges: waiting for the slower replicas, sending, receiving and summing. */
    double syncSeconds() {
        return syncNanos / 1e9;
    }

    private static byte[] bytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    private float[] read(Socket socket, int floats) throws IOException {
        byte[] bytes = new byte[floats * Float.BYTES];
        InputStream in = socket.getInputStream();
        int at = 0;
        while (at < bytes.length) {
            int n;
            try {
                n = in.read(bytes, at, bytes.length - at);
            } catch (SocketTimeoutException e) {
                stopIfKilled();
                continue;
            }
            if (n < 0) {
                throw new IOException("the connection closed after " + at + " of " + bytes.length + " bytes");
            }
            at += n;
        }
        float[] out = new float[floats];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    @Override
    public void close() {
        for (Socket s : peers) {
            if (s != null) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing: nothing to do
                }
            }
        }
        if (server != null) {
            try {
                server.close();
            } catch (IOException ignored) {
                // closing: nothing to do
            }
        }
    }
}
