package jdiffusion.tornado;

import uk.ac.manchester.tornado.api.TornadoRuntime;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

import java.util.ArrayList;
import java.util.List;

/**
 * Finding the device to run on: TornadoVM's runtime and the devices it lists, with every way that can fail
 * (no OpenCL platform, no device, a device index that does not exist) turned into a named error that says what
 * to do, instead of TornadoVM's ExceptionInInitializerError or index errors.
 */
final class TornadoDevices {
    private TornadoDevices() {
    }

    /**
     * TornadoVM's runtime, started on first use. It fails in its static initialiser when no backend finds a
     * device (e.g. no OpenCL platform): that becomes a {@link NoDeviceException} instead of an
     * ExceptionInInitializerError (or, on later attempts, a NoClassDefFoundError).
     */
    static TornadoRuntime runtime() {
        TornadoRuntime rt;
        try {
            rt = TornadoRuntimeProvider.getTornadoRuntime();
        } catch (LinkageError | RuntimeException e) {
            String why = rootMessage(e);
            if (why.contains("No OpenCL platforms found"))
                throw new NoDeviceException("TornadoVM found no OpenCL platform, so it has no device to run on. Install the OpenCL driver (ICD) "
                        + "of your device (for the CPU: Debian's pocl-opencl-icd; `clinfo -l` lists what OpenCL sees; OCL_ICD_VENDORS "
                        + "must not point at an empty directory), or run without --backend tornado");
            throw new NoDeviceException("TornadoVM's runtime could not start: " + why + " (check TORNADOVM_HOME's backend and its driver; "
                    + "`tornado --devices` shows what TornadoVM sees)");
        }
        if (devices(rt).isEmpty())
            throw new NoDeviceException("TornadoVM started but lists no device (`tornado --devices`); install a driver for your device "
                    + "or run without --backend tornado");
        return rt;
    }

    /** The device {@code spec} names ("driver:device" as listed by {@code tornado --devices}), or the default device. */
    static TornadoDevice select(TornadoRuntime rt, String spec) {
        if (spec == null || spec.isBlank()) return rt.getDefaultDevice();
        String[] parts = spec.trim().split(":");
        int driver = -1, index = -1;
        if (parts.length == 2) {
            try {
                driver = Integer.parseInt(parts[0].trim());
                index = Integer.parseInt(parts[1].trim());
            } catch (NumberFormatException e) {
                driver = -1;
            }
        }
        if (driver < 0 || index < 0)
            throw new IllegalArgumentException("jdiffusion.tornado.device: '" + spec + "' is not driver:device (e.g. 0:0); the devices are:"
                    + listing(rt));
        if (driver >= rt.getNumBackends() || index >= rt.getBackend(driver).getNumDevices())
            throw new NoDeviceException("jdiffusion.tornado.device=" + spec.trim() + ": TornadoVM has no such device; choose one of:" + listing(rt));
        return rt.getBackend(driver).getDevice(index);
    }

    /** "driver:device description" of every device TornadoVM sees. */
    private static List<String> devices(TornadoRuntime rt) {
        List<String> out = new ArrayList<>();
        for (int d = 0; d < rt.getNumBackends(); d++) {
            uk.ac.manchester.tornado.api.TornadoBackend b = rt.getBackend(d);   // a TornadoVM driver, not ours
            for (int i = 0; i < b.getNumDevices(); i++) out.add(d + ":" + i + "  " + b.getDevice(i).getDescription());
        }
        return out;
    }

    private static String listing(TornadoRuntime rt) {
        StringBuilder sb = new StringBuilder();
        for (String d : devices(rt)) sb.append(System.lineSeparator()).append("  ").append(d);
        return sb.toString();
    }

    /** The innermost cause's message, without TornadoVM's terminal colour codes. */
    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String m = t.getMessage() == null ? t.getClass().getName() : t.getMessage();
        return m.replaceAll("\u001B\\[[0-9;]*m", "").trim();
    }

    /** TornadoVM has no device to run on, or not the one asked for. */
    static final class NoDeviceException extends IllegalStateException {
        NoDeviceException(String message) {
            super(message);
        }
    }
}
