"""What running a trained model on source images needs besides the model, with no torch: the
model's input spec and the training samples' codec (``spec``), face boxes from OpenCV's Haar
cascade (``haar``), and the box → landmark-extent calibration measured on the training split
(``calibration``). The trainer stores these in every checkpoint; ``flmprep.predict`` reads them.
"""
