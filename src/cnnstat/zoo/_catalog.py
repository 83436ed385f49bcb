"""Every registered model with its published figures (pure data: no torch here).

``num_params`` and ``gmacs`` are published figures (torchvision's weights meta, the papers,
the articles below); a test rebuilds each model and holds its parameter count to the figure.
"""

from cnnstat.zoo._registry import Paper, register_alias, register_model

IMAGENET = (3, 224, 224)
CIFAR = (3, 32, 32)

RESNET = Paper("Deep Residual Learning for Image Recognition", 2016)
RESNEXT = Paper("Aggregated Residual Transformations for Deep Neural Networks", 2017)
WIDE_RESNET = Paper("Wide Residual Networks", 2016)
VGG = Paper("Very Deep Convolutional Networks for Large-Scale Image Recognition", 2015)
GOOGLENET = Paper("Going Deeper with Convolutions", 2015)
INCEPTION_V3 = Paper("Rethinking the Inception Architecture for Computer Vision", 2016)
MOBILENET_V1 = Paper("MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications", 2017)
MOBILENET_V2 = Paper("MobileNetV2: Inverted Residuals and Linear Bottlenecks", 2018)
MOBILENET_V3 = Paper("Searching for MobileNetV3", 2019)
EFFICIENTNET = Paper("EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", 2019)
SHUFFLENET_V2 = Paper("ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design", 2018)
SQUEEZENET = Paper("SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size", 2016)
DENSENET = Paper("Densely Connected Convolutional Networks", 2017)
ALEXNET = Paper("One weird trick for parallelizing convolutional neural networks", 2014)
CONVNEXT = Paper("A ConvNet for the 2020s", 2022)
REGNET = Paper("Designing Network Design Spaces", 2020)
MNASNET = Paper("MnasNet: Platform-Aware Neural Architecture Search for Mobile", 2019)
SHAKE_SHAKE = Paper("Shake-Shake regularization", 2017)
CIFAR_TUTORIAL = Paper("CIFAR-10 from a linear model towards the state of the art", 2019)

# The articles whose nets and design comparisons the zoo rebuilds, named by title as a user reads them.
MODELS_ARTICLE = '"代表的なモデル" (representative CNN models)'
RESNEXT_ARTICLE = '"Pytorch – ResNeXt の仕組みと実装について解説" (ResNeXt explained)'
PLAIN_ARTICLE = "a Korean ResNet implementation post comparing ResNet-50 with PlainNet-50"
CIFAR_ARTICLE = f'"{CIFAR_TUTORIAL.title}" (a Japanese CIFAR-10 walkthrough)'

for _name, _params, _gmacs in [
    ("resnet18", 11_689_512, 1.814),
    ("resnet34", 21_797_672, 3.664),
    ("resnet50", 25_557_032, 4.089),
    ("resnet101", 44_549_160, 7.801),
    ("resnet152", 60_192_808, 11.514),
]:
    register_model(_name, f"resnet:{_name}", family="resnet", paper=RESNET, input_size=IMAGENET,
                   num_params=_params, gmacs=_gmacs)

for _name, _params, _gmacs in [
    ("resnext50_32x4d", 25_028_904, 4.23),
    ("resnext101_32x8d", 88_791_336, 16.414),
    ("resnext101_64x4d", 83_455_272, 15.46),
]:
    register_model(_name, f"resnet:{_name}", family="resnext", paper=RESNEXT, input_size=IMAGENET,
                   num_params=_params, gmacs=_gmacs)

for _name, _params, _gmacs in [("wide_resnet50_2", 68_883_240, 11.398), ("wide_resnet101_2", 126_886_696, 22.753)]:
    register_model(_name, f"resnet:{_name}", family="wide_resnet", paper=WIDE_RESNET, input_size=IMAGENET,
                   num_params=_params, gmacs=_gmacs)

for _name, _params in [("plain34", 21_623_848), ("plain50", 22_780_456)]:
    register_model(_name, f"resnet:{_name}", family="plain", paper=RESNET, input_size=IMAGENET,
                   num_params=_params, note="the ResNet of the same depth with every shortcut removed (the paper's plain baseline)")

for _name, _params, _gmacs in [
    ("vgg11", 132_863_336, 7.609),
    ("vgg11_bn", 132_868_840, 7.609),
    ("vgg13", 133_047_848, 11.308),
    ("vgg13_bn", 133_053_736, 11.308),
    ("vgg16", 138_357_544, 15.47),
    ("vgg16_bn", 138_365_992, 15.47),
    ("vgg19", 143_667_240, 19.632),
    ("vgg19_bn", 143_678_248, 19.632),
]:
    register_model(_name, f"vgg:{_name}", family="vgg", paper=VGG, input_size=IMAGENET,
                   num_params=_params, gmacs=_gmacs)

register_model("googlenet", "googlenet:googlenet", family="googlenet", paper=GOOGLENET, input_size=IMAGENET,
               num_params=6_624_904, gmacs=1.498,
               note="Inception v1 as torchvision builds it (BatchNorm); aux classifiers off (on: 13,004,888 params)")
register_model("inception_v3", "googlenet:inception_v3", family="inception", paper=INCEPTION_V3,
               input_size=(3, 299, 299), num_params=27_161_264, gmacs=5.713,
               note="aux classifier on, as torchvision publishes it (off: 23,834,568 params)")

register_model("mobilenet_v1", "mobilenet:mobilenet_v1", family="mobilenet", paper=MOBILENET_V1,
               input_size=IMAGENET, num_params=4_231_976, gmacs=0.5687,
               note="the paper's network, width multiplier 1.0 (option width_mult)")
register_alias("mobilenet", "mobilenet_v1")
for _name, _params, _gmacs, _paper in [
    ("mobilenet_v2", 3_504_872, 0.301, MOBILENET_V2),
    ("mobilenet_v3_large", 5_483_032, 0.217, MOBILENET_V3),
    ("mobilenet_v3_small", 2_542_856, 0.057, MOBILENET_V3),
]:
    register_model(_name, f"mobilenet:{_name}", family="mobilenet", paper=_paper, input_size=IMAGENET,
                   num_params=_params, gmacs=_gmacs)

for _name, _module, _family, _paper, _params, _gmacs in [
    ("efficientnet_b0", "efficientnet", "efficientnet", EFFICIENTNET, 5_288_548, 0.386),
    ("mnasnet1_0", "efficientnet", "mnasnet", MNASNET, 4_383_312, 0.314),
    ("shufflenet_v2_x1_0", "shufflenet", "shufflenet", SHUFFLENET_V2, 2_278_604, 0.145),
    ("squeezenet1_0", "squeezenet", "squeezenet", SQUEEZENET, 1_248_424, 0.819),
    ("squeezenet1_1", "squeezenet", "squeezenet", SQUEEZENET, 1_235_496, 0.349),
    ("densenet121", "densenet", "densenet", DENSENET, 7_978_856, 2.834),
    ("alexnet", "alexnet", "alexnet", ALEXNET, 61_100_840, 0.714),
    ("convnext_tiny", "convnext", "convnext", CONVNEXT, 28_589_128, 4.456),
    ("regnet_y_400mf", "regnet", "regnet", REGNET, 4_344_144, 0.402),
]:
    register_model(_name, f"{_module}:{_name}", family=_family, paper=_paper, input_size=IMAGENET,
                   num_params=_params, gmacs=_gmacs)

# The CIFAR-10 walkthrough's progression, with the parameter counts it states.
for _name, _params in [
    ("cifar_linear", 30_730),
    ("cifar_mlp", 123_330),
    ("cifar_lenet", 62_958),
    ("cifar_convbn", 39_650),
    ("cifar_deepbn", 462_570),
    ("cifar_resnet_small", 1_965_066),
]:
    register_model(_name, f"cifar:{_name}", family="cifar_tutorial", paper=CIFAR_TUTORIAL, input_size=CIFAR,
                   num_params=_params, num_classes=10)

# CIFAR ResNets of the ResNet paper (section 4.2, option A shortcuts: no projection params).
# Exact counts of our build; Table 6 rounds them to 0.27M, 0.46M, 0.66M, 0.85M, 1.7M.
for _name, _params in [
    ("cifar_resnet20", 269_722),
    ("cifar_resnet32", 464_154),
    ("cifar_resnet44", 658_586),
    ("cifar_resnet56", 853_018),
    ("cifar_resnet110", 1_727_962),
]:
    register_model(_name, f"cifar:{_name}", family="cifar_resnet", paper=RESNET, input_size=CIFAR,
                   num_params=_params, num_classes=10)

# Shake-Shake ResNet-26 (the CIFAR-10 walkthrough's final target). Exact counts of our build; the paper
# rounds them to 2.9M, 11.7M, 26.2M.
for _name, _params in [
    ("shake_shake26_2x32d", 2_923_162),
    ("shake_shake26_2x64d", 11_653_978),
    ("shake_shake26_2x96d", 26_192_922),
]:
    register_model(_name, f"cifar:{_name}", family="shake_shake", paper=SHAKE_SHAKE, input_size=CIFAR,
                   num_params=_params, num_classes=10)

# Building blocks (blocks.py): the articles' design comparisons (cnnstat.analysis.studies),
# each at its default input. num_classes=0: a block outputs a feature map, not class scores.
# The conv comparisons count conv weights only, as the articles do (bias off, no BatchNorm);
# the residual blocks carry their BatchNorms, so the articles' figures are their conv weights.
_BLOCKS: list[tuple[str, str, Paper, tuple[int, ...], int, dict[str, int | None], str]] = [
    ("block/conv", "conv", VGG, (16, 32, 32), 25_088, {},
     "one 7x7 conv, 16 -> 32, no padding: 32x26x26"),
    # The article states 13,824 = 3x3x16x32 x 3, counting all three convs as 16 -> 32; the second
    # and third take 32 channels, so the real stack has 4,608 + 2 x 9,216 weights.
    ("block/conv3x3_stack", "conv", VGG, (16, 32, 32), 23_040, {"k": 3, "n": 3},
     "three 3x3 convs, 16 -> 32 -> 32 -> 32, no padding, ReLU between: 32x26x26 like one 7x7 "
     "(the article states 13,824: it counts each conv as 16 -> 32)"),
    ("block/conv_standard", "conv", MOBILENET_V1, (3, 32, 32), 270, {"k": 3, "cin": 3, "cout": 10, "padding": None},
     "3x3 conv, 3 -> 10"),
    ("block/depthwise_separable", "depthwise_separable", MOBILENET_V1, (3, 32, 32), 57, {},
     "3x3 depthwise (27) + 1x1 pointwise (30), 3 -> 10"),
    ("block/conv5x5", "conv", GOOGLENET, (192, 28, 28), 460_800,
     {"k": 5, "cin": 192, "cout": 96, "padding": None}, "5x5 conv, 192 -> 96"),
    ("block/inception_naive", "inception_naive", GOOGLENET, (192, 28, 28), 161_280, {},
     "1x1, 3x3, 5x5 (24 each) + 3x3 max-pool, 192 -> 264"),
    ("block/inception_reduced", "inception_reduced", GOOGLENET, (192, 28, 28), 28_416, {},
     "1x1(24); 1x1(16)->3x3(24); 1x1(16)->5x5(24); pool->1x1(24): 192 -> 96"),
    ("block/resnet_basic", "resnet_basic", RESNET, (64, 56, 56), 73_984, {},
     "ResNet-18/34 basic block, 64 -> 64 (conv weights 73,728)"),
    ("block/resnet_bottleneck", "bottleneck", RESNET, (256, 56, 56), 70_400, {},
     "ResNet-50 bottleneck, 256 -> 64 -> 256 (conv weights 69,632)"),
    ("block/resnext_bottleneck", "bottleneck", RESNEXT, (256, 56, 56), 71_168, {"C": 32, "d": 4},
     "ResNeXt 32x4d bottleneck, 256 -> 128 (32 groups) -> 256 (conv weights 70,144 vs 69,632)"),
]
for _name, _builder, _paper, _input, _params, _options, _note in _BLOCKS:
    register_model(_name, f"blocks:{_builder}", family="block", paper=_paper, input_size=_input,
                   num_params=_params, num_classes=0, options=_options, note=_note)
