// PanelCapture
