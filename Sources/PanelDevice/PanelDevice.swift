// PanelDevice
