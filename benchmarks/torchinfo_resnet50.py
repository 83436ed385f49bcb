"""The yardstick for the static-pass benchmark: torchinfo.summary on ResNet-50 at 32x3x512x512."""

import torchinfo

from cnnstat.zoo import create_model

torchinfo.summary(create_model("resnet50"), input_size=(32, 3, 512, 512), verbose=0)
