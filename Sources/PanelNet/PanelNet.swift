// PanelNet
