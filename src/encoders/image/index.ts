/**
 * The image encoder: residual 2D/3D CNN backbones returning visual tokens and a pooled vector,
 * plus the convolution and normalisation ops they are built from (fast gradients on every backend).
 *
 * @packageDocumentation
 */
export {
  createImageEncoder,
  ImageEncoderLayer,
  resolveImageEncoderOptions,
  IMAGE_NORMS,
  IMAGE_ACTIVATIONS,
  type ImageEncoder,
  type CreateImageEncoderConfig,
  type ImageEncoderOptions,
  type ImageEncoderLayerArgs,
  type ResolvedImageEncoderOptions,
  type ImageNorm,
  type ImageActivation,
} from './image-encoder.js';
export { batchNormTrain, groupNorm, type BatchStatsCallback } from '../../ops/norm.js';
export { Conv2D, Conv3D, conv2dLayer, conv3dLayer, type ConvArgs } from '../../layers/conv.js';
export { conv2d, conv3d, biasAdd, axisPadding, type ConvOptions, type ConvPadding, type AxisPadding } from '../../ops/conv.js';
