package dev.amber.kind.creds;

import static dev.amber.kind.creds.Prctl.*;

import dev.amber.image.proto.Credentials;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.ProcStatus;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * Turns the puppet's credentials into the saved ones, each step skipped when already as saved
 * (a root target restored by root costs one status read and one prctl). The order is forced by
 * the kernel's rules:
 *
 * <ol>
 * <li>setgroups and dropping bounding-set capabilities need CAP_SETGID / CAP_SETPCAP: first.
 * <li>Before the uids change, securebits NO_SETUID_FIXUP | KEEP_CAPS: otherwise leaving uid 0
 *     clears the effective set (and, without KEEP_CAPS, the permitted set) and always the
 *     ambient set (cap_task_fix_setuid), and setfsuid and capset below would lack the caps.
 * <li>setresgid then setfsgid, setresuid then setfsuid: setresXid resets the fs id to the new
 *     effective one, so the fs id comes after; an fs id outside real/effective/saved needs
 *     CAP_SETUID / CAP_SETGID, still held thanks to 2.
 * <li>The saved inheritable set, then the ambient set: PR_CAP_AMBIENT_RAISE needs the cap in both
 *     permitted and inheritable, and is refused once SECBIT_NO_CAP_AMBIENT_RAISE is set.
 * <li>The saved securebits: needs CAP_SETPCAP, which the final capset may drop.
 * <li>The saved permitted and effective sets (capset can only lower permitted).
 * <li>no_new_privs, which can be set but never cleared.
 * </ol>
 */
final class CredentialsRestore {
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    private static final int GROUPS_AT = 0, CAPS_AT = 32768;

    private final int pid;
    private final Injector injector;
    private final Credentials want;
    private final ProcStatus now;

    /** Credentials are per thread: this turns thread {@code tid}'s, through its own injector. */
    CredentialsRestore(int pid, int tid, Injector injector, Credentials want) throws IOException {
        this.pid = pid;
        this.injector = injector;
        this.want = want;
        this.now = ProcStatus.read(pid, tid);
    }

    void run() throws IOException {
        long securebits = prctl("PR_GET_SECUREBITS", PR_GET_SECUREBITS, 0);
        groups();
        boolean idsChange = !Arrays.equals(CredentialsKind.ids(now.uid()), ints(want.getUidsList()))
                || !Arrays.equals(CredentialsKind.ids(now.gid()), ints(want.getGidsList()));
        long keep = securebits | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS;
        if (idsChange && keep != securebits) {
            prctl("PR_SET_SECUREBITS", PR_SET_SECUREBITS, keep);
            securebits = keep;
        }
        bounding();
        ids("gid", CredentialsKind.ids(now.gid()), ints(want.getGidsList()), Arch.SYS_SETRESGID, Arch.SYS_SETFSGID);
        ids("uid", CredentialsKind.ids(now.uid()), ints(want.getUidsList()), Arch.SYS_SETRESUID, Arch.SYS_SETFSUID);
        if (want.getCapAmbient() != now.capAmb() || want.getCapInheritable() != now.capInh()) {
            capset(want.getCapInheritable(), now.capPrm(), now.capEff());
            ambient();
        }
        if (want.getSecurebits() != securebits) {
            prctl("PR_SET_SECUREBITS", PR_SET_SECUREBITS, want.getSecurebits());
        }
        if (want.getCapPermitted() != now.capPrm() || want.getCapEffective() != now.capEff()) {
            capset(want.getCapInheritable(), want.getCapPermitted(), want.getCapEffective());
        }
        noNewPrivs();
    }

    private void groups() throws IOException {
        int[] groups = ints(want.getGroupsList());
        if (Arrays.equals(groups, now.groups())) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(groups.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int g : groups) {
            b.putInt(g);
        }
        long at = injector.put(GROUPS_AT, b.array());
        injector.check("setgroups(" + groups.length + " groups)", Arch.SYS_SETGROUPS, groups.length, at);
    }

    /** Capabilities can only leave the bounding set (PR_CAPBSET_DROP, needs CAP_SETPCAP). */
    private void bounding() throws IOException {
        long extra = want.getCapBounding() & ~now.capBnd();
        if (extra != 0) {
            throw new IOException("pid " + pid + " credentials: the saved bounding set 0x"
                    + Long.toHexString(want.getCapBounding()) + " has capabilities 0x" + Long.toHexString(extra)
                    + " that the restoring amber's bounding set 0x" + Long.toHexString(now.capBnd())
                    + " lacks, and none can be added: run amber restart with a full bounding set");
        }
        long drop = now.capBnd() & ~want.getCapBounding();
        for (int cap = 0; cap < 64; cap++) {
            if ((drop & (1L << cap)) != 0) {
                prctl("PR_CAPBSET_DROP " + cap, PR_CAPBSET_DROP, cap);
            }
        }
    }

    /** setresXid(real, effective, saved), then the fs id, which setresXid set to the effective id. */
    private void ids(String what, int[] have, int[] ids, int setres, int setfs) throws IOException {
        int fs = have[3];
        if (!Arrays.equals(Arrays.copyOf(have, 3), Arrays.copyOf(ids, 3))) {
            injector.check("setres" + what + "(" + u(ids[0]) + ", " + u(ids[1]) + ", " + u(ids[2]) + ")",
                    setres, u(ids[0]), u(ids[1]), u(ids[2]));
            fs = ids[1];
        }
        if (fs == ids[3]) {
            return;
        }
        // setfsXid returns the previous fs id whether it succeeded or not; -1 (an invalid id) only reads it.
        injector.call(setfs, u(ids[3]));
        long now = injector.call(setfs, -1);
        if ((int) now != ids[3]) {
            throw new IOException("pid " + pid + " credentials: setfs" + what + "(" + u(ids[3]) + ") left fs" + what
                    + " " + u((int) now) + ": a value other than the real, effective or saved " + what
                    + " needs CAP_SET" + what.toUpperCase());
        }
    }

    private static long u(int id) {
        return Integer.toUnsignedLong(id);
    }

    private void ambient() throws IOException {
        prctl("PR_CAP_AMBIENT_CLEAR_ALL", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
        for (int cap = 0; cap < 64; cap++) {
            if ((want.getCapAmbient() & (1L << cap)) != 0) {
                prctl("PR_CAP_AMBIENT_RAISE " + cap, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap);
            }
        }
    }

    /**
     * capset(2) with {@code _LINUX_CAPABILITY_VERSION_3}: a header {u32 version, i32 pid (0:
     * self)} and two {u32 effective, u32 permitted, u32 inheritable}, low 32 caps then high.
     */
    private void capset(long inheritable, long permitted, long effective) throws IOException {
        long gained = permitted & ~now.capPrm();
        if (gained != 0) {
            throw new IOException("pid " + pid + " credentials: the saved permitted set 0x" + Long.toHexString(permitted)
                    + " has capabilities 0x" + Long.toHexString(gained) + " that the restoring amber lacks (0x"
                    + Long.toHexString(now.capPrm()) + "): run amber restart with those capabilities");
        }
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(LINUX_CAPABILITY_VERSION_3).putInt(0);
        b.putInt((int) effective).putInt((int) permitted).putInt((int) inheritable);
        b.putInt((int) (effective >>> 32)).putInt((int) (permitted >>> 32)).putInt((int) (inheritable >>> 32));
        long header = injector.put(CAPS_AT, b.array());
        injector.check("capset(inheritable 0x" + Long.toHexString(inheritable) + ", permitted 0x"
                + Long.toHexString(permitted) + ", effective 0x" + Long.toHexString(effective) + ")",
                Arch.SYS_CAPSET, header, header + 8);
    }

    private void noNewPrivs() throws IOException {
        if (want.getNoNewPrivs() && !now.noNewPrivs()) {
            prctl("PR_SET_NO_NEW_PRIVS", PR_SET_NO_NEW_PRIVS, 1);
        } else if (!want.getNoNewPrivs() && now.noNewPrivs()) {
            throw new IOException("pid " + pid + " credentials: saved no_new_privs 0, but the restoring amber runs"
                    + " with no_new_privs 1, which cannot be cleared: run amber restart without no_new_privs");
        }
    }

    private long prctl(String what, long... args) throws IOException {
        // prctl checks that unused arguments are 0, and an injected call's unset argument registers
        // hold whatever the task had in them.
        return injector.check("prctl(" + what + ")", Arch.SYS_PRCTL, Arrays.copyOf(args, 5));
    }

    private static int[] ints(List<Integer> list) {
        return list.stream().mapToInt(Integer::intValue).toArray();
    }
}
