package dev.amber.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import dev.amber.image.proto.ImageDescription;
import dev.amber.sys.Arch;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDescriberTest {
    @TempDir Path tmp;

    @Test
    void text() throws Exception {
        Path dir = SampleImage.create(tmp.resolve("img"));
        String text;
        try (ImageReader reader = ImageReader.open(dir)) {
            text = ImageDescriber.text(reader);
        }
        String arch = ImageFormat.hostArch();
        String expectedStart = """
                image %s
                  format    1.0
                  arch      %s
                  kernel    6.18.0-test
                  tool      amber 0.1.0
                  root pid  4242
                  created   2025-06-15T15:06:40Z
                """.formatted(dir, arch);
        assertTrue(text.startsWith(expectedStart), text);
        String root = text.substring(text.indexOf("process 4242"), text.indexOf("process 4243"));
        String regs = arch.equals(Arch.NAME)
                ? "rip 0x401136 rsp 0x7ffc0000f000 rax 0xfffffffffffffe00 fs_base 0x7f0000001740"
                : "216 bytes (" + arch + ")";
        assertEquals("""
                process 4242  ppid 1  pgid 4242  sid 4242  comm target
                  memory: 2 areas, 3 pages saved in pages-4242.img
                    ADDRESS                    PROT  KIND          PAGES  PATH
                    000000400000-000000401000  r-xp  FILE_PRIVATE      0  /usr/bin/target
                    7f0000000000-7f0000003000  rw-p  ANON_PRIVATE      3
                  threads:
                     TID  COMM    REGISTERS%s  XSAVE  INTERRUPTED
                    4242  target  %s  11008  syscall 230 result -516, re-run clock_nanosleep
                  signals: 2 not default
                    SIGNAL   HANDLER   FLAGS      MASK
                    SIGINT   0x401200  0x4000000  0x0
                    SIGPIPE  SIG_IGN   0x0        0x0
                  credentials: uid 1000/1000/1000/1000  gid 100  groups 4/27
                    cap eff 0x0 prm 0x0 inh 0x0 bnd 0x1ffffffffff amb 0x0  securebits 0x0
                  descriptors: 2
                    FD  KIND  FLAGS                  OFFSET  PATH
                     0  file  rdwr                        0  /dev/null
                     3  file  wronly,append,cloexec   12345  /tmp/log

                """.formatted(" ".repeat(regs.length() - "REGISTERS".length()), regs), root);
    }

    @Test
    void jsonParsesBackToTheSameMessages() throws Exception {
        Path dir = SampleImage.create(tmp.resolve("img"));
        try (ImageReader reader = ImageReader.open(dir)) {
            String json = ImageDescriber.json(reader);
            assertTrue(json.contains("\"root_pid\": 4242"), json);
            ImageDescription.Builder back = ImageDescription.newBuilder();
            JsonFormat.parser().merge(json, back);
            assertEquals(reader.inventory(), back.getInventory());
            assertEquals(reader.processes(), back.getProcessesList());
            assertEquals(dir.toString(), back.getDirectory());
        }
    }
}
