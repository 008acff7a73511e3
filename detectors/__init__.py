"""The paper's detectors (Mel-LCNN, W2V2-LCNN, W2V2-AASIST): models, data, training and scoring.

Nothing heavy is imported here, so ``codecfake --help`` stays light; import the submodules.
"""
