package jdiffusion.kernels;

/**
 * Where GEMM results go: element (i, j) of C lives at c[off + (j / colsPerImage)·imageStride +
 * i·ldc + j % colsPerImage]. A plain row-major matrix has one "image"; a convolution over a batch
 * puts its output pixels of all images side by side as columns, each image being a [Cout × H·W] block
 * of the NCHW output.
 */
public record COut(float[] c, int off, int ldc, int colsPerImage, int imageStride) {

    public static COut matrix(float[] c, int off, int ldc) {
        return new COut(c, off, ldc, Integer.MAX_VALUE, 0);
    }

    /** NCHW output: column j = b·hw + p → c[off + b·rows·hw + i·hw + p]. */
    public static COut images(float[] c, int off, int rows, int hw) {
        return new COut(c, off, hw, hw, rows * hw);
    }

    int index(int i, int j) {
        return off + (j / colsPerImage) * imageStride + i * ldc + j % colsPerImage;
    }

    /** The index of (i, j) when columns [j, j+width) are contiguous in one image, else −1. */
    int contiguous(int i, int j, int width) {
        int p = j % colsPerImage;
        return p + width <= colsPerImage ? off + (j / colsPerImage) * imageStride + i * ldc + p : -1;
    }
}
