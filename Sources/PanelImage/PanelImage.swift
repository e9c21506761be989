// PanelImage
