/**
 * Typed errors of the cohort loader (`vdafm/node`): an unreadable NIfTI file. Each class carries
 * a `Symbol.for` marker, so `isInstance` works across an ESM and a CJS copy of the package.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../../errors.js';

/** Why a NIfTI file cannot be used, as {@link NiftiFormatError.kind}. */
export type NiftiProblemKind = 'not-nifti' | 'corrupt-nifti' | 'truncated-nifti' | 'unsupported-datatype' | 'wrong-dimensionality' | 'multiple-volumes';

const NIFTI_MARKER = Symbol.for('vdafm.error.niftiFormat');

/**
 * A NIfTI file's bytes cannot be used: not a single-file NIfTI-1/2, a corrupt or truncated
 * (gzip) stream, an unsupported datatype, or the wrong dimensionality. It is an
 * `InvalidArgumentError` (argument `bytes`, or `datatype` / `volume`) that also says which
 * problem it is (`kind`), so that the cohort loader can report it per patient.
 *
 * @example
 * ```ts
 * try { readNifti(bytes); } catch (e) {
 *   if (NiftiFormatError.isInstance(e)) console.log(e.kind); // 'truncated-nifti'
 * }
 * ```
 */
export class NiftiFormatError extends InvalidArgumentError {
  private readonly [NIFTI_MARKER] = true;
  /** Which problem it is. */
  readonly kind: NiftiProblemKind;

  constructor(args: { kind: NiftiProblemKind; argument?: string; message: string; received?: unknown; fix?: string; cause?: unknown }) {
    const { kind, argument, ...rest } = args;
    super({ argument: argument ?? 'bytes', ...rest });
    this.name = 'NiftiFormatError';
    this.kind = kind;
  }

  static override isInstance(error: unknown): error is NiftiFormatError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[NIFTI_MARKER] === true;
  }
}
