package dev.amber.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts a program with posix_spawn(3). The tool never uses ProcessBuilder: the JDK's reaper
 * thread waits on its children and would steal ptrace stops. The child gets an empty signal
 * mask and default dispositions (Java threads block SIGQUIT, and a spawned child would inherit
 * that), and a process group of its own unless told otherwise.
 */
public final class Spawn {
    private static final int SETPGROUP = 0x02, SETSIGDEF = 0x04, SETSIGMASK = 0x08;
    private static final int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0100, O_APPEND = 02000, O_TRUNC = 01000;

    private static final MethodHandle spawn$mh = Native.lookup("posix_spawn",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS), false);
    private static final MethodHandle faInit$mh = Native.lookup("posix_spawn_file_actions_init", Native.INT_OF_ADDR, false);
    private static final MethodHandle faDestroy$mh = Native.lookup("posix_spawn_file_actions_destroy", Native.INT_OF_ADDR, false);
    private static final MethodHandle faDup2$mh = Native.lookup("posix_spawn_file_actions_adddup2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), false);
    private static final MethodHandle faOpen$mh = Native.lookup("posix_spawn_file_actions_addopen",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), false);
    private static final MethodHandle faCloseFrom$mh = Native.lookup("posix_spawn_file_actions_addclosefrom_np",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), false);
    private static final MethodHandle attrInit$mh = Native.lookup("posix_spawnattr_init", Native.INT_OF_ADDR, false);
    private static final MethodHandle attrDestroy$mh = Native.lookup("posix_spawnattr_destroy", Native.INT_OF_ADDR, false);
    private static final MethodHandle attrFlags$mh = Native.lookup("posix_spawnattr_setflags",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT), false);
    private static final MethodHandle attrMask$mh = Native.lookup("posix_spawnattr_setsigmask",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false);
    private static final MethodHandle attrDefault$mh = Native.lookup("posix_spawnattr_setsigdefault",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false);
    private static final MethodHandle sigemptyset$mh = Native.lookup("sigemptyset", Native.INT_OF_ADDR, false);
    private static final MethodHandle sigfillset$mh = Native.lookup("sigfillset", Native.INT_OF_ADDR, false);

    private final String path;
    private final List<String> argv = new ArrayList<>();
    private Map<String, String> env = System.getenv();
    private final List<int[]> dups = new ArrayList<>();
    private final List<Object[]> opens = new ArrayList<>();
    private boolean ownProcessGroup = true;

    public Spawn(String path, List<String> argv) {
        this.path = path;
        this.argv.addAll(argv);
    }

    public Spawn env(Map<String, String> env) {
        this.env = env;
        return this;
    }

    /** Opens {@code file} read-only at {@code fd} in the child. */
    public Spawn input(int fd, String file) {
        opens.add(new Object[] {fd, file, O_RDONLY});
        return this;
    }

    /** Opens {@code file} for appending (created if missing) at {@code fd} in the child. */
    public Spawn output(int fd, String file, boolean append) {
        opens.add(new Object[] {fd, file, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)});
        return this;
    }

    public Spawn dup2(int fd, int newFd) {
        dups.add(new int[] {fd, newFd});
        return this;
    }

    public Spawn ownProcessGroup(boolean own) {
        this.ownProcessGroup = own;
        return this;
    }

    /** Starts the child and returns its pid. */
    public int start() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment actions = arena.allocate(256, 16);
            MemorySegment attr = arena.allocate(1024, 16);
            MemorySegment empty = arena.allocate(128, 8);
            MemorySegment all = arena.allocate(128, 8);
            MemorySegment pid = arena.allocate(JAVA_INT);
            int r = (int) faInit$mh.invokeExact(actions);
            r |= (int) attrInit$mh.invokeExact(attr);
            r |= (int) sigemptyset$mh.invokeExact(empty);
            r |= (int) sigfillset$mh.invokeExact(all);
            for (Object[] o : opens) {
                r |= (int) faOpen$mh.invokeExact(actions, (int) o[0], arena.allocateFrom((String) o[1]), (int) o[2], 0644);
            }
            for (int[] d : dups) {
                r |= (int) faDup2$mh.invokeExact(actions, d[0], d[1]);
            }
            // Nothing else of the tool's leaks into the child (the JVM keeps descriptors without O_CLOEXEC).
            int lowest = 3;
            for (Object[] o : opens) {
                lowest = Math.max(lowest, (int) o[0] + 1);
            }
            for (int[] d : dups) {
                lowest = Math.max(lowest, d[1] + 1);
            }
            r |= (int) faCloseFrom$mh.invokeExact(actions, lowest);
            short flags = (short) (SETSIGMASK | SETSIGDEF | (ownProcessGroup ? SETPGROUP : 0));
            r |= (int) attrFlags$mh.invokeExact(attr, flags);
            r |= (int) attrMask$mh.invokeExact(attr, empty);
            r |= (int) attrDefault$mh.invokeExact(attr, all);
            if (r != 0) {
                throw new IllegalStateException("posix_spawn set-up failed for " + path);
            }
            int err = (int) spawn$mh.invokeExact(pid, arena.allocateFrom(path), actions, attr,
                    strings(arena, argv), strings(arena, env.entrySet().stream()
                            .map(e -> e.getKey() + "=" + e.getValue()).toList()));
            int ignored = (int) faDestroy$mh.invokeExact(actions);
            ignored = (int) attrDestroy$mh.invokeExact(attr);
            if (err != 0) {
                throw new ErrnoException("posix_spawn", path, err);
            }
            return pid.get(JAVA_INT, 0);
        } catch (ErrnoException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static MemorySegment strings(Arena arena, List<String> values) {
        MemorySegment array = arena.allocate(ADDRESS, values.size() + 1);
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ADDRESS, i, arena.allocateFrom(values.get(i)));
        }
        array.setAtIndex(ADDRESS, values.size(), MemorySegment.NULL);
        return array;
    }
}
