// PanelWire
