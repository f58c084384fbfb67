package jdiffusion.tensor;

/**
 * A tensor's storage on an accelerator (e.g. TornadoVM). A backend that keeps activations on its
 * device returns tensors backed by one of these; the host copy is made only when host code reads
 * {@link Tensor#data()}.
 */
public interface DeviceBuffer {
    /** The backend that owns the buffer (so another backend knows it must read through the host). */
    Object owner();

    /** Copies the device contents to {@code dst} (length = the tensor's element count). */
    void download(float[] dst);
}
