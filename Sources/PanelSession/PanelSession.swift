// PanelSession
