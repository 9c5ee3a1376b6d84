<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="vi">
<context>
    <name>CityTwin</name>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Tệp</translation>
    </message>
    <message>
        <source>&amp;No</source>
        <translation>&amp;Không</translation>
    </message>
    <message>
        <source>&amp;Tools</source>
        <translation>&amp;Công cụ</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Hiển thị</translation>
    </message>
    <message>
        <source>&amp;Yes</source>
        <translation>&amp;Có</translation>
    </message>
    <message>
        <source>(Ctrl+Shift+C copies)</source>
        <translation>(Ctrl+Shift+C để sao chép)</translation>
    </message>
    <message>
        <source>1 day/s</source>
        <translation>1 ngày/giây</translation>
    </message>
    <message>
        <source>1 h/s</source>
        <translation>1 giờ/giây</translation>
    </message>
    <message>
        <source>1 min/s</source>
        <translation>1 phút/giây</translation>
    </message>
    <message>
        <source>30 days/s</source>
        <translation>30 ngày/giây</translation>
    </message>
    <message>
        <source>A certificate file cannot be used.</source>
        <translation>Không dùng được tệp chứng chỉ.</translation>
    </message>
    <message>
        <source>A feed with this name exists: choose another name.</source>
        <translation>Đã có nguồn mang tên này: hãy chọn tên khác.</translation>
    </message>
    <message>
        <source>Abort</source>
        <translation>Hủy bỏ</translation>
    </message>
    <message>
        <source>Add current view</source>
        <translation>Thêm góc nhìn hiện tại</translation>
    </message>
    <message>
        <source>Alerts</source>
        <translation>Cảnh báo</translation>
    </message>
    <message>
        <source>All</source>
        <translation>Tất cả</translation>
    </message>
    <message>
        <source>All kinds</source>
        <translation>Tất cả các loại</translation>
    </message>
    <message>
        <source>All layers</source>
        <translation>Tất cả các lớp</translation>
    </message>
    <message>
        <source>All states</source>
        <translation>Tất cả trạng thái</translation>
    </message>
    <message>
        <source>All supported files</source>
        <translation>Mọi tệp được hỗ trợ</translation>
    </message>
    <message>
        <source>Ambient occlusion</source>
        <translation>Che khuất môi trường (AO)</translation>
    </message>
    <message>
        <source>Animate day</source>
        <translation>Mô phỏng nắng trong ngày</translation>
    </message>
    <message>
        <source>Append the current view as a keyframe of this tour</source>
        <translation>Thêm góc nhìn hiện tại làm khung hình chính của chuyến tham quan</translation>
    </message>
    <message>
        <source>Applied</source>
        <translation>Cách áp dụng</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>Áp dụng</translation>
    </message>
    <message>
        <source>Area closed; click to start a new polygon</source>
        <translation>Đã khép đa giác; bấm để bắt đầu đa giác mới</translation>
    </message>
    <message>
        <source>Area of use</source>
        <translation>Phạm vi sử dụng</translation>
    </message>
    <message>
        <source>Area: click the corners of the polygon</source>
        <translation>Diện tích: bấm vào các đỉnh của đa giác</translation>
    </message>
    <message>
        <source>Area: click the next corner</source>
        <translation>Diện tích: bấm vào đỉnh tiếp theo</translation>
    </message>
    <message>
        <source>Attribute</source>
        <translation>Thuộc tính</translation>
    </message>
    <message>
        <source>Attribute table: {0}</source>
        <translation>Bảng thuộc tính: {0}</translation>
    </message>
    <message>
        <source>Attribute: {0}</source>
        <translation>Thuộc tính: {0}</translation>
    </message>
    <message>
        <source>Attributes</source>
        <translation>Thuộc tính</translation>
    </message>
    <message>
        <source>Auth header</source>
        <translation>Tiêu đề xác thực</translation>
    </message>
    <message>
        <source>Auth value</source>
        <translation>Giá trị xác thực</translation>
    </message>
    <message>
        <source>Autosave every</source>
        <translation>Tự động lưu sau mỗi</translation>
    </message>
    <message>
        <source>Autosave failed: {0}</source>
        <translation>Tự động lưu thất bại: {0}</translation>
    </message>
    <message>
        <source>Ballpark</source>
        <translation>Ước lượng thô (ballpark)</translation>
    </message>
    <message>
        <source>Base URL</source>
        <translation>URL gốc</translation>
    </message>
    <message>
        <source>Before/after phase</source>
        <translation>Trước/sau giai đoạn</translation>
    </message>
    <message>
        <source>Before/after phase…</source>
        <translation>Trước/sau giai đoạn…</translation>
    </message>
    <message>
        <source>Bookmark name:</source>
        <translation>Tên điểm nhìn:</translation>
    </message>
    <message>
        <source>Bookmark:</source>
        <translation>Điểm nhìn:</translation>
    </message>
    <message>
        <source>Bookmarks</source>
        <translation>Điểm nhìn đã lưu</translation>
    </message>
    <message>
        <source>Breaks the limit</source>
        <translation>Vượt chỉ tiêu</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Duyệt…</translation>
    </message>
    <message>
        <source>Building</source>
        <translation>Công trình</translation>
    </message>
    <message>
        <source>Building edges</source>
        <translation>Đường viền công trình</translation>
    </message>
    <message>
        <source>CA file</source>
        <translation>Tệp CA</translation>
    </message>
    <message>
        <source>CRS operations</source>
        <translation>Phép biến đổi hệ tọa độ</translation>
    </message>
    <message>
        <source>CRS operations…</source>
        <translation>Phép biến đổi hệ tọa độ…</translation>
    </message>
    <message>
        <source>CSV…</source>
        <translation>CSV…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Hủy</translation>
    </message>
    <message>
        <source>Certificates (*.pem *.crt *.key);;All files (*)</source>
        <translation>Chứng chỉ (*.pem *.crt *.key);;Mọi tệp (*)</translation>
    </message>
    <message>
        <source>CityTwin found an autosave newer than the project. Restore it?</source>
        <translation>CityTwin tìm thấy bản tự động lưu mới hơn dự án. Khôi phục bản đó?</translation>
    </message>
    <message>
        <source>Class</source>
        <translation>Loại đối tượng</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Xóa</translation>
    </message>
    <message>
        <source>Clear selection</source>
        <translation>Bỏ chọn</translation>
    </message>
    <message>
        <source>Click a point in the 3D view</source>
        <translation>Bấm vào một điểm trong khung nhìn 3D</translation>
    </message>
    <message>
        <source>Client certificate</source>
        <translation>Chứng chỉ máy khách</translation>
    </message>
    <message>
        <source>Client id</source>
        <translation>Mã máy khách</translation>
    </message>
    <message>
        <source>Client key</source>
        <translation>Khoá máy khách</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Đóng</translation>
    </message>
    <message>
        <source>Close without Saving</source>
        <translation>Đóng không lưu</translation>
    </message>
    <message>
        <source>Colour buildings and lots by compliance</source>
        <translation>Tô màu công trình và lô đất theo mức tuân thủ</translation>
    </message>
    <message>
        <source>Colour by</source>
        <translation>Tô màu theo</translation>
    </message>
    <message>
        <source>Compliance check failed: {0}</source>
        <translation>Kiểm tra tuân thủ thất bại: {0}</translation>
    </message>
    <message>
        <source>Complies</source>
        <translation>Đạt</translation>
    </message>
    <message>
        <source>Compute sun-hours</source>
        <translation>Tính số giờ nắng</translation>
    </message>
    <message>
        <source>Computing sun-hours…</source>
        <translation>Đang tính số giờ nắng…</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>Kết nối</translation>
    </message>
    <message>
        <source>Connect feed</source>
        <translation>Kết nối nguồn dữ liệu</translation>
    </message>
    <message>
        <source>Connect feed…</source>
        <translation>Kết nối nguồn dữ liệu…</translation>
    </message>
    <message>
        <source>Connected feed {0}</source>
        <translation>Đã kết nối nguồn {0}</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>Đang kết nối…</translation>
    </message>
    <message>
        <source>Copied {0} as a [[tours]] section.</source>
        <translation>Đã sao chép {0} thành mục [[tours]].</translation>
    </message>
    <message>
        <source>Copied: {0}</source>
        <translation>Đã sao chép: {0}</translation>
    </message>
    <message>
        <source>Copy as JSON</source>
        <translation>Sao chép dạng JSON</translation>
    </message>
    <message>
        <source>Copy as TOML</source>
        <translation>Sao chép dạng TOML</translation>
    </message>
    <message>
        <source>Copy attribute and value</source>
        <translation>Sao chép thuộc tính và giá trị</translation>
    </message>
    <message>
        <source>Copy measurement</source>
        <translation>Sao chép kết quả đo</translation>
    </message>
    <message>
        <source>Copy this tour as a [[tours]] section for the scene file</source>
        <translation>Sao chép chuyến tham quan này thành mục [[tours]] cho tệp cảnh</translation>
    </message>
    <message>
        <source>Copy value</source>
        <translation>Sao chép giá trị</translation>
    </message>
    <message>
        <source>Current view</source>
        <translation>Góc nhìn hiện tại</translation>
    </message>
    <message>
        <source>Data extent (lon/lat)</source>
        <translation>Phạm vi dữ liệu (kinh độ/vĩ độ)</translation>
    </message>
    <message>
        <source>Data far from the scene origin</source>
        <translation>Dữ liệu ở xa gốc tọa độ của cảnh</translation>
    </message>
    <message>
        <source>Datastreams</source>
        <translation>Luồng dữ liệu</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>Ngày</translation>
    </message>
    <message>
        <source>Definition</source>
        <translation>Định nghĩa</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Xóa</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Chi tiết</translation>
    </message>
    <message>
        <source>Discard</source>
        <translation>Bỏ đi</translation>
    </message>
    <message>
        <source>Dock</source>
        <translation>Neo</translation>
    </message>
    <message>
        <source>Dock attribute tables</source>
        <translation>Neo bảng thuộc tính vào cửa sổ chính</translation>
    </message>
    <message>
        <source>Dock attribute tables in the main window (else each opens in its own window)</source>
        <translation>Neo các bảng thuộc tính vào cửa sổ chính (nếu không, mỗi bảng mở trong cửa sổ riêng)</translation>
    </message>
    <message>
        <source>Don't Save</source>
        <translation>Không lưu</translation>
    </message>
    <message>
        <source>Earlier (Shift + mouse wheel)</source>
        <translation>Sớm hơn (Shift + con lăn chuột)</translation>
    </message>
    <message>
        <source>Easting (E)</source>
        <translation>Tọa độ Đông (E)</translation>
    </message>
    <message>
        <source>Errors</source>
        <translation>Lỗi</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>Xuất CSV…</translation>
    </message>
    <message>
        <source>Export PNG…</source>
        <translation>Xuất PNG…</translation>
    </message>
    <message>
        <source>Export screenshot</source>
        <translation>Xuất ảnh chụp</translation>
    </message>
    <message>
        <source>Export screenshot…</source>
        <translation>Xuất ảnh chụp…</translation>
    </message>
    <message>
        <source>Export selection</source>
        <translation>Xuất vùng chọn</translation>
    </message>
    <message>
        <source>Exported {0} features to {1}</source>
        <translation>Đã xuất {0} đối tượng vào {1}</translation>
    </message>
    <message>
        <source>Eye-dome lighting (point clouds)</source>
        <translation>Chiếu sáng eye-dome (đám mây điểm)</translation>
    </message>
    <message>
        <source>Features</source>
        <translation>Đối tượng</translation>
    </message>
    <message>
        <source>Feed</source>
        <translation>Nguồn dữ liệu</translation>
    </message>
    <message>
        <source>Feed health</source>
        <translation>Tình trạng nguồn dữ liệu</translation>
    </message>
    <message>
        <source>Feed health: click to show each feed's state and problems</source>
        <translation>Tình trạng nguồn dữ liệu: bấm để xem trạng thái và sự cố của từng nguồn</translation>
    </message>
    <message>
        <source>Feed {0} is still connecting; it keeps retrying</source>
        <translation>Nguồn {0} vẫn đang kết nối; sẽ tiếp tục thử lại</translation>
    </message>
    <message>
        <source>Feeds: {0}</source>
        <translation>Nguồn dữ liệu: {0}</translation>
    </message>
    <message>
        <source>Filter: id, name or kind…</source>
        <translation>Lọc: mã, tên hoặc loại…</translation>
    </message>
    <message>
        <source>Filter: name, id — or height &gt; 30 and class = residential</source>
        <translation>Lọc: tên, mã — hoặc height &gt; 30 và class = residential</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>Tìm</translation>
    </message>
    <message>
        <source>Find features</source>
        <translation>Tìm đối tượng</translation>
    </message>
    <message>
        <source>First data</source>
        <translation>Dữ liệu đầu tiên</translation>
    </message>
    <message>
        <source>Fit window (~30 s)</source>
        <translation>Vừa khung (~30 giây)</translation>
    </message>
    <message>
        <source>Flood alarm</source>
        <translation>Báo động ngập lụt</translation>
    </message>
    <message>
        <source>Flood warning</source>
        <translation>Cảnh báo ngập lụt</translation>
    </message>
    <message>
        <source>Follow wall time: live feeds show as they arrive</source>
        <translation>Theo giờ thực: dữ liệu trực tiếp hiện ngay khi đến</translation>
    </message>
    <message>
        <source>GeoJSON, WGS 84…</source>
        <translation>GeoJSON, WGS 84…</translation>
    </message>
    <message>
        <source>GeoJSON, scene CRS ({0})…</source>
        <translation>GeoJSON, hệ tọa độ cảnh ({0})…</translation>
    </message>
    <message>
        <source>Give at least one topic.</source>
        <translation>Hãy nhập ít nhất một chủ đề.</translation>
    </message>
    <message>
        <source>Go</source>
        <translation>Đến</translation>
    </message>
    <message>
        <source>Grid spacing (m)</source>
        <translation>Khoảng cách lưới (m)</translation>
    </message>
    <message>
        <source>Height (H)</source>
        <translation>Độ cao (H)</translation>
    </message>
    <message>
        <source>Height (px)</source>
        <translation>Chiều cao (px)</translation>
    </message>
    <message>
        <source>Height: click the lower and the upper point</source>
        <translation>Chiều cao: bấm điểm thấp rồi điểm cao</translation>
    </message>
    <message>
        <source>Height: click the second point</source>
        <translation>Chiều cao: bấm điểm thứ hai</translation>
    </message>
    <message>
        <source>Help</source>
        <translation>Trợ giúp</translation>
    </message>
    <message>
        <source>Hide panels</source>
        <translation>Ẩn các bảng</translation>
    </message>
    <message>
        <source>Host</source>
        <translation>Máy chủ</translation>
    </message>
    <message>
        <source>IOC link</source>
        <translation>Liên kết IOC</translation>
    </message>
    <message>
        <source>IOC link off: {0}</source>
        <translation>Liên kết IOC tắt: {0}</translation>
    </message>
    <message>
        <source>Ignore</source>
        <translation>Bỏ qua</translation>
    </message>
    <message>
        <source>Ignore the file's own georeferencing</source>
        <translation>Bỏ qua tham chiếu địa lý có sẵn trong tệp</translation>
    </message>
    <message>
        <source>Import</source>
        <translation>Nhập dữ liệu</translation>
    </message>
    <message>
        <source>Import an IFC model first.</source>
        <translation>Hãy nhập một mô hình IFC trước.</translation>
    </message>
    <message>
        <source>Import cancelled: kept what was shown as a partial layer ({0})</source>
        <translation>Đã hủy nhập: giữ phần đã hiển thị thành một lớp chưa đầy đủ ({0})</translation>
    </message>
    <message>
        <source>Import cancelled; nothing was added</source>
        <translation>Đã hủy nhập; không có gì được thêm</translation>
    </message>
    <message>
        <source>Import failed</source>
        <translation>Nhập dữ liệu thất bại</translation>
    </message>
    <message>
        <source>Imported {0}: {1} layers, {2} warnings</source>
        <translation>Đã nhập {0}: {1} lớp, {2} cảnh báo</translation>
    </message>
    <message>
        <source>Importing {0}…</source>
        <translation>Đang nhập {0}…</translation>
    </message>
    <message>
        <source>In area of use</source>
        <translation>Trong phạm vi sử dụng</translation>
    </message>
    <message>
        <source>Indicator</source>
        <translation>Chỉ tiêu</translation>
    </message>
    <message>
        <source>Jump to</source>
        <translation>Đi tới</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Loại</translation>
    </message>
    <message>
        <source>LIVE</source>
        <translation>TRỰC TIẾP</translation>
    </message>
    <message>
        <source>Label by</source>
        <translation>Gắn nhãn theo</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Ngôn ngữ</translation>
    </message>
    <message>
        <source>Last data</source>
        <translation>Dữ liệu cuối cùng</translation>
    </message>
    <message>
        <source>Later (Shift + mouse wheel)</source>
        <translation>Muộn hơn (Shift + con lăn chuột)</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>Lớp</translation>
    </message>
    <message>
        <source>Layers</source>
        <translation>Lớp dữ liệu</translation>
    </message>
    <message>
        <source>Leave presentation mode</source>
        <translation>Thoát chế độ trình chiếu</translation>
    </message>
    <message>
        <source>Legend</source>
        <translation>Chú giải</translation>
    </message>
    <message>
        <source>Limit</source>
        <translation>Giới hạn</translation>
    </message>
    <message>
        <source>Live</source>
        <translation>Trực tiếp</translation>
    </message>
    <message>
        <source>Looks</source>
        <translation>Hiển thị</translation>
    </message>
    <message>
        <source>Lot</source>
        <translation>Lô đất</translation>
    </message>
    <message>
        <source>Main</source>
        <translation>Chính</translation>
    </message>
    <message>
        <source>Measure area</source>
        <translation>Đo diện tích</translation>
    </message>
    <message>
        <source>Measure distance</source>
        <translation>Đo khoảng cách</translation>
    </message>
    <message>
        <source>Measure height</source>
        <translation>Đo chiều cao</translation>
    </message>
    <message>
        <source>Measure: click the second point</source>
        <translation>Đo: nhấp điểm thứ hai</translation>
    </message>
    <message>
        <source>Measure: click two points</source>
        <translation>Đo: nhấp hai điểm</translation>
    </message>
    <message>
        <source>Minutes between autosaves of the project; 0 turns it off</source>
        <translation>Số phút giữa hai lần tự động lưu dự án; 0 là tắt</translation>
    </message>
    <message>
        <source>Model far from the scene</source>
        <translation>Mô hình ở xa cảnh</translation>
    </message>
    <message>
        <source>N&amp;o to All</source>
        <translation>&amp;Không với tất cả</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Tên</translation>
    </message>
    <message>
        <source>Nearest data: {0}</source>
        <translation>Dữ liệu gần nhất: {0}</translation>
    </message>
    <message>
        <source>New tour</source>
        <translation>Chuyến tham quan mới</translation>
    </message>
    <message>
        <source>Next stop</source>
        <translation>Điểm dừng tiếp theo</translation>
    </message>
    <message>
        <source>No CRS operation is recorded for this layer.</source>
        <translation>Lớp này không có phép biến đổi hệ tọa độ nào được ghi lại.</translation>
    </message>
    <message>
        <source>No OS keyring: passwords are remembered in {0} (readable only by you).</source>
        <translation>Không có kho khoá của hệ điều hành: mật khẩu được lưu trong {0} (chỉ bạn đọc được).</translation>
    </message>
    <message>
        <source>No data at this time for any sensor.</source>
        <translation>Không cảm biến nào có dữ liệu tại thời điểm này.</translation>
    </message>
    <message>
        <source>No data at this time for {0} of {1} sensors.</source>
        <translation>{0} trên {1} cảm biến không có dữ liệu tại thời điểm này.</translation>
    </message>
    <message>
        <source>No labels</source>
        <translation>Không gắn nhãn</translation>
    </message>
    <message>
        <source>No measurement to copy</source>
        <translation>Chưa có kết quả đo để sao chép</translation>
    </message>
    <message>
        <source>North arrow and scale</source>
        <translation>Mũi tên hướng Bắc và thước tỷ lệ</translation>
    </message>
    <message>
        <source>Northing (N)</source>
        <translation>Tọa độ Bắc (N)</translation>
    </message>
    <message>
        <source>Not written: {0}</source>
        <translation>Chưa ghi: {0}</translation>
    </message>
    <message>
        <source>Nothing answers at this host and port.</source>
        <translation>Không có gì trả lời tại máy chủ và cổng này.</translation>
    </message>
    <message>
        <source>Nothing under the cursor there; try again</source>
        <translation>Không có gì dưới con trỏ ở đó; hãy thử lại</translation>
    </message>
    <message>
        <source>Now (Live)</source>
        <translation>Bây giờ (Trực tiếp)</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>Đồng ý</translation>
    </message>
    <message>
        <source>OUTSIDE</source>
        <translation>NGOÀI PHẠM VI</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>Tắt</translation>
    </message>
    <message>
        <source>On no lot</source>
        <translation>Không thuộc lô nào</translation>
    </message>
    <message>
        <source>One per line: datastream id, name or Thing name = sensor id. Empty: datastreams named like sensors.</source>
        <translation>Mỗi dòng một mục: mã, tên luồng hoặc tên Thing = mã cảm biến. Để trống: các luồng có tên trùng mã cảm biến.</translation>
    </message>
    <message>
        <source>One per line: topic filter = sensor id. Without a sensor id, the + level of the topic names the sensor.</source>
        <translation>Mỗi dòng một mục: bộ lọc chủ đề = mã cảm biến. Không có mã cảm biến thì cấp + của chủ đề là mã cảm biến.</translation>
    </message>
    <message>
        <source>Opacity</source>
        <translation>Độ mờ đục</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Mở</translation>
    </message>
    <message>
        <source>Open attribute table</source>
        <translation>Mở bảng thuộc tính</translation>
    </message>
    <message>
        <source>Open data</source>
        <translation>Mở dữ liệu</translation>
    </message>
    <message>
        <source>Open data…</source>
        <translation>Mở dữ liệu…</translation>
    </message>
    <message>
        <source>Open project</source>
        <translation>Mở dự án</translation>
    </message>
    <message>
        <source>Open project…</source>
        <translation>Mở dự án…</translation>
    </message>
    <message>
        <source>Open scene</source>
        <translation>Mở cảnh</translation>
    </message>
    <message>
        <source>Overview</source>
        <translation>Toàn cảnh</translation>
    </message>
    <message>
        <source>PROJ operation</source>
        <translation>Phép biến đổi PROJ</translation>
    </message>
    <message>
        <source>Paper</source>
        <translation>Khổ giấy</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Mật khẩu</translation>
    </message>
    <message>
        <source>Passwords are remembered in the OS keyring.</source>
        <translation>Mật khẩu được lưu trong kho khoá của hệ điều hành.</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Tạm dừng</translation>
    </message>
    <message>
        <source>Phase {0}: {1} points lose sun, {2} gain; at most {3} h lost</source>
        <translation>Giai đoạn {0}: {1} điểm mất nắng, {2} điểm được thêm nắng; mất nhiều nhất {3} giờ</translation>
    </message>
    <message>
        <source>Pick in view</source>
        <translation>Chọn trong khung nhìn</translation>
    </message>
    <message>
        <source>Place IFC model</source>
        <translation>Đặt vị trí mô hình IFC</translation>
    </message>
    <message>
        <source>Place IFC…</source>
        <translation>Đặt vị trí IFC…</translation>
    </message>
    <message>
        <source>Place by these numbers even where the file has IfcSite latitude/longitude or an IfcMapConversion</source>
        <translation>Đặt theo các số này ngay cả khi tệp có vĩ độ/kinh độ IfcSite hoặc IfcMapConversion</translation>
    </message>
    <message>
        <source>Place…</source>
        <translation>Đặt vị trí…</translation>
    </message>
    <message>
        <source>Plan phase:</source>
        <translation>Giai đoạn quy hoạch:</translation>
    </message>
    <message>
        <source>Plan phase: {0}</source>
        <translation>Giai đoạn quy hoạch: {0}</translation>
    </message>
    <message>
        <source>Planning compliance</source>
        <translation>Kiểm tra tuân thủ quy hoạch</translation>
    </message>
    <message>
        <source>Play</source>
        <translation>Phát</translation>
    </message>
    <message>
        <source>Point picked</source>
        <translation>Đã chọn điểm</translation>
    </message>
    <message>
        <source>Poll every</source>
        <translation>Hỏi lại mỗi</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>Cổng</translation>
    </message>
    <message>
        <source>Preferences</source>
        <translation>Tùy chọn</translation>
    </message>
    <message>
        <source>Preferences…</source>
        <translation>Tùy chọn…</translation>
    </message>
    <message>
        <source>Presentation mode</source>
        <translation>Chế độ trình chiếu</translation>
    </message>
    <message>
        <source>Previous stop</source>
        <translation>Điểm dừng trước</translation>
    </message>
    <message>
        <source>Print map</source>
        <translation>In bản đồ</translation>
    </message>
    <message>
        <source>Print map…</source>
        <translation>In bản đồ…</translation>
    </message>
    <message>
        <source>Publish live alerts and current values to the provincial IOC over MQTT; empty: off. The password comes from CITYTWIN_IOC_PASSWORD or the keyring.</source>
        <translation>Gửi cảnh báo trực tiếp và giá trị hiện tại tới IOC của tỉnh qua MQTT; để trống: tắt. Mật khẩu lấy từ CITYTWIN_IOC_PASSWORD hoặc keyring.</translation>
    </message>
    <message>
        <source>QoS</source>
        <translation>QoS</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Thoát</translation>
    </message>
    <message>
        <source>Rate (/s)</source>
        <translation>Tốc độ (/giây)</translation>
    </message>
    <message>
        <source>Re-centred by</source>
        <translation>Đã dời tâm thêm</translation>
    </message>
    <message>
        <source>Reading lots and footprints…</source>
        <translation>Đang đọc lô đất và diện tích chiếm đất…</translation>
    </message>
    <message>
        <source>Recent files</source>
        <translation>Tệp gần đây</translation>
    </message>
    <message>
        <source>Recorded tour {0}</source>
        <translation>Chuyến tham quan đã ghi {0}</translation>
    </message>
    <message>
        <source>Recover</source>
        <translation>Khôi phục</translation>
    </message>
    <message>
        <source>Remember the auth value</source>
        <translation>Ghi nhớ giá trị xác thực</translation>
    </message>
    <message>
        <source>Remember the password</source>
        <translation>Ghi nhớ mật khẩu</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Gỡ bỏ</translation>
    </message>
    <message>
        <source>Reset</source>
        <translation>Đặt lại</translation>
    </message>
    <message>
        <source>Reset layout</source>
        <translation>Khôi phục bố cục mặc định</translation>
    </message>
    <message>
        <source>Restore Defaults</source>
        <translation>Khôi phục mặc định</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>Thử lại</translation>
    </message>
    <message>
        <source>River gauges and manholes at warning level or above</source>
        <translation>Trạm đo mực nước sông và hố ga ở mức cảnh báo trở lên</translation>
    </message>
    <message>
        <source>Rotation (counter-clockwise from grid east)</source>
        <translation>Góc xoay (ngược chiều kim đồng hồ từ hướng Đông lưới)</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Lưu</translation>
    </message>
    <message>
        <source>Save All</source>
        <translation>Lưu tất cả</translation>
    </message>
    <message>
        <source>Save project</source>
        <translation>Lưu dự án</translation>
    </message>
    <message>
        <source>Save project as…</source>
        <translation>Lưu dự án thành…</translation>
    </message>
    <message>
        <source>Save view</source>
        <translation>Lưu góc nhìn</translation>
    </message>
    <message>
        <source>Save view as bookmark</source>
        <translation>Lưu góc nhìn hiện tại</translation>
    </message>
    <message>
        <source>Saved {0}</source>
        <translation>Đã lưu {0}</translation>
    </message>
    <message>
        <source>Scene default</source>
        <translation>Mặc định của cảnh</translation>
    </message>
    <message>
        <source>Scene origin subtracted</source>
        <translation>Gốc cảnh đã trừ</translation>
    </message>
    <message>
        <source>Scene time the tour sets for sensors and planned projects</source>
        <translation>Thời điểm của cảnh mà chuyến tham quan đặt cho cảm biến và dự án quy hoạch</translation>
    </message>
    <message>
        <source>Search and filter</source>
        <translation>Tìm kiếm và lọc</translation>
    </message>
    <message>
        <source>Section plane</source>
        <translation>Mặt cắt</translation>
    </message>
    <message>
        <source>Select a feed to list its problems.</source>
        <translation>Chọn một nguồn dữ liệu để xem danh sách sự cố.</translation>
    </message>
    <message>
        <source>Select buildings in the view (or in the attribute table) first</source>
        <translation>Hãy chọn công trình trong khung nhìn (hoặc trong bảng thuộc tính) trước</translation>
    </message>
    <message>
        <source>Select one or more sensors to chart their history</source>
        <translation>Chọn một hoặc nhiều cảm biến để vẽ biểu đồ lịch sử</translation>
    </message>
    <message>
        <source>Sensor</source>
        <translation>Cảm biến</translation>
    </message>
    <message>
        <source>Sensor: {0}</source>
        <translation>Cảm biến: {0}</translation>
    </message>
    <message>
        <source>Sensors and alerts</source>
        <translation>Cảm biến và cảnh báo</translation>
    </message>
    <message>
        <source>Shadows</source>
        <translation>Bóng đổ</translation>
    </message>
    <message>
        <source>Show the whole timeline</source>
        <translation>Hiện toàn bộ dòng thời gian</translation>
    </message>
    <message>
        <source>Simulation not started: {0}</source>
        <translation>Chưa khởi động mô phỏng: {0}</translation>
    </message>
    <message>
        <source>Solid</source>
        <translation>Một màu</translation>
    </message>
    <message>
        <source>Source CRS</source>
        <translation>Hệ tọa độ nguồn</translation>
    </message>
    <message>
        <source>Source colours</source>
        <translation>Màu gốc của tệp</translation>
    </message>
    <message>
        <source>Stale after (s):</source>
        <translation>Quá hạn sau (giây):</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Trạng thái</translation>
    </message>
    <message>
        <source>Stated accuracy</source>
        <translation>Độ chính xác công bố</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Trạng thái</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>Bước</translation>
    </message>
    <message>
        <source>Step (min)</source>
        <translation>Bước thời gian (phút)</translation>
    </message>
    <message>
        <source>Step back (1 % of the window)</source>
        <translation>Lùi một bước (1 % khung)</translation>
    </message>
    <message>
        <source>Step forward (1 % of the window)</source>
        <translation>Tiến một bước (1 % khung)</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Dừng</translation>
    </message>
    <message>
        <source>Sun light</source>
        <translation>Ánh sáng mặt trời</translation>
    </message>
    <message>
        <source>Sun study</source>
        <translation>Nghiên cứu nắng</translation>
    </message>
    <message>
        <source>Sun-hours</source>
        <translation>Số giờ nắng</translation>
    </message>
    <message>
        <source>Sun-hours change</source>
        <translation>Thay đổi số giờ nắng</translation>
    </message>
    <message>
        <source>Sun-hours failed: {0}</source>
        <translation>Không tính được số giờ nắng: {0}</translation>
    </message>
    <message>
        <source>Sun-hours on the selected façades</source>
        <translation>Số giờ nắng trên mặt đứng công trình đã chọn</translation>
    </message>
    <message>
        <source>System</source>
        <translation>Theo hệ thống</translation>
    </message>
    <message>
        <source>TLS (encrypted)</source>
        <translation>TLS (mã hoá)</translation>
    </message>
    <message>
        <source>Target CRS</source>
        <translation>Hệ tọa độ đích</translation>
    </message>
    <message>
        <source>Textures</source>
        <translation>Vân bề mặt (texture)</translation>
    </message>
    <message>
        <source>The TLS handshake failed: is TLS switched on at this port?</source>
        <translation>Bắt tay TLS thất bại: cổng này có bật TLS không?</translation>
    </message>
    <message>
        <source>The broker refused the login: check the user name and password.</source>
        <translation>Máy chủ MQTT từ chối đăng nhập: kiểm tra tên người dùng và mật khẩu.</translation>
    </message>
    <message>
        <source>The feed could not connect.</source>
        <translation>Nguồn dữ liệu không kết nối được.</translation>
    </message>
    <message>
        <source>The list shows the first {0} of {1} rows; the CSV export has them all.</source>
        <translation>Danh sách chỉ hiện {0} dòng đầu trong {1} dòng; tệp CSV xuất ra có đủ.</translation>
    </message>
    <message>
        <source>The password could not be remembered: {0}</source>
        <translation>Không lưu được mật khẩu: {0}</translation>
    </message>
    <message>
        <source>The server answered with an error.</source>
        <translation>Máy chủ trả về lỗi.</translation>
    </message>
    <message>
        <source>The server cannot be reached.</source>
        <translation>Không kết nối tới được máy chủ.</translation>
    </message>
    <message>
        <source>The server closed the connection before the login: check the port and the TLS setting.</source>
        <translation>Máy chủ đóng kết nối trước khi đăng nhập: kiểm tra cổng và thiết lập TLS.</translation>
    </message>
    <message>
        <source>The server refused access: check the auth header and its value.</source>
        <translation>Máy chủ từ chối truy cập: kiểm tra tiêu đề xác thực và giá trị của nó.</translation>
    </message>
    <message>
        <source>The server's answer is not SensorThings data.</source>
        <translation>Câu trả lời của máy chủ không phải dữ liệu SensorThings.</translation>
    </message>
    <message>
        <source>The server's certificate is not trusted: check the CA file.</source>
        <translation>Chứng chỉ của máy chủ không được tin cậy: kiểm tra tệp CA.</translation>
    </message>
    <message>
        <source>This scene declares no planning lots.</source>
        <translation>Cảnh này không khai báo lô quy hoạch.</translation>
    </message>
    <message>
        <source>This scene has no sensors: open a scene with sensors first.</source>
        <translation>Cảnh này không có cảm biến: hãy mở một cảnh có cảm biến trước.</translation>
    </message>
    <message>
        <source>This scene has no tours yet.</source>
        <translation>Cảnh này chưa có chuyến tham quan nào.</translation>
    </message>
    <message>
        <source>Timeline</source>
        <translation>Dòng thời gian</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>Tiêu đề</translation>
    </message>
    <message>
        <source>Topics</source>
        <translation>Chủ đề (topic)</translation>
    </message>
    <message>
        <source>Tour</source>
        <translation>Tham quan</translation>
    </message>
    <message>
        <source>Tour: {0}</source>
        <translation>Chuyến tham quan: {0}</translation>
    </message>
    <message>
        <source>Tours not loaded: {0}</source>
        <translation>Không tải được chuyến tham quan: {0}</translation>
    </message>
    <message>
        <source>Underground view</source>
        <translation>Nhìn xuyên lòng đất</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>Đơn vị</translation>
    </message>
    <message>
        <source>Units and axes</source>
        <translation>Đơn vị và trục</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>Tên người dùng</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Giá trị</translation>
    </message>
    <message>
        <source>View</source>
        <translation>Góc nhìn</translation>
    </message>
    <message>
        <source>View {0}</source>
        <translation>Góc nhìn {0}</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>Cảnh báo</translation>
    </message>
    <message>
        <source>Width (px)</source>
        <translation>Chiều rộng (px)</translation>
    </message>
    <message>
        <source>Write each datastream as: datastream = sensor id.</source>
        <translation>Viết mỗi luồng theo dạng: luồng = mã cảm biến.</translation>
    </message>
    <message>
        <source>Write placement</source>
        <translation>Ghi vị trí</translation>
    </message>
    <message>
        <source>Write placement into a copy of the IFC…</source>
        <translation>Ghi vị trí vào một bản sao của tệp IFC…</translation>
    </message>
    <message>
        <source>Writing {0}…</source>
        <translation>Đang ghi {0}…</translation>
    </message>
    <message>
        <source>Wrote {0} with its placement in {1}</source>
        <translation>Đã ghi {0} với vị trí trong {1}</translation>
    </message>
    <message>
        <source>X-ray</source>
        <translation>Xuyên thấu</translation>
    </message>
    <message>
        <source>X-ray selected layer</source>
        <translation>Xuyên thấu lớp đang chọn</translation>
    </message>
    <message>
        <source>Yes to &amp;All</source>
        <translation>&amp;Có với tất cả</translation>
    </message>
    <message>
        <source>Zoom in (mouse wheel over the slider)</source>
        <translation>Phóng to (con lăn chuột trên thanh trượt)</translation>
    </message>
    <message>
        <source>Zoom out (mouse wheel over the slider)</source>
        <translation>Thu nhỏ (con lăn chuột trên thanh trượt)</translation>
    </message>
    <message>
        <source>Zoom to</source>
        <translation>Phóng tới</translation>
    </message>
    <message>
        <source>Zoom to results</source>
        <translation>Phóng tới kết quả</translation>
    </message>
    <message>
        <source>Zoom to selection</source>
        <translation>Phóng tới vùng chọn</translation>
    </message>
    <message>
        <source>alarm</source>
        <translation>báo động</translation>
    </message>
    <message>
        <source>built</source>
        <translation>đã xây xong</translation>
    </message>
    <message>
        <source>caption for the next keyframe (optional)</source>
        <translation>chú thích cho khung hình chính tiếp theo (tùy chọn)</translation>
    </message>
    <message>
        <source>connected</source>
        <translation>đã kết nối</translation>
    </message>
    <message>
        <source>e.g. Bearer …; empty: the remembered one</source>
        <translation>vd. Bearer …; để trống: dùng giá trị đã lưu</translation>
    </message>
    <message>
        <source>empty: the remembered one, if any</source>
        <translation>để trống: dùng mật khẩu đã lưu (nếu có)</translation>
    </message>
    <message>
        <source>empty: the system's certificate authorities</source>
        <translation>để trống: dùng các CA của hệ thống</translation>
    </message>
    <message>
        <source>error</source>
        <translation>lỗi</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>chưa chạy</translation>
    </message>
    <message>
        <source>inside</source>
        <translation>bên trong</translation>
    </message>
    <message>
        <source>layer</source>
        <translation>lớp</translation>
    </message>
    <message>
        <source>loaded</source>
        <translation>đã nạp xong</translation>
    </message>
    <message>
        <source>loaded features: {0}</source>
        <translation>đối tượng đã tải: {0}</translation>
    </message>
    <message>
        <source>min</source>
        <translation>phút</translation>
    </message>
    <message>
        <source>name, id, GlobalId — or height &gt; 30, class = IfcWall</source>
        <translation>tên, mã, GlobalId — hoặc height &gt; 30, class = IfcWall</translation>
    </message>
    <message>
        <source>no</source>
        <translation>không</translation>
    </message>
    <message>
        <source>no data</source>
        <translation>không có dữ liệu</translation>
    </message>
    <message>
        <source>no data at this time</source>
        <translation>không có dữ liệu tại thời điểm này</translation>
    </message>
    <message>
        <source>no feeds</source>
        <translation>không có nguồn dữ liệu</translation>
    </message>
    <message>
        <source>no history</source>
        <translation>chưa có lịch sử</translation>
    </message>
    <message>
        <source>no warnings</source>
        <translation>không có cảnh báo</translation>
    </message>
    <message>
        <source>nothing here</source>
        <translation>không có đối tượng</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>bình thường</translation>
    </message>
    <message>
        <source>planned</source>
        <translation>quy hoạch</translation>
    </message>
    <message>
        <source>reconnecting</source>
        <translation>đang kết nối lại</translation>
    </message>
    <message>
        <source>removed</source>
        <translation>đã phá dỡ</translation>
    </message>
    <message>
        <source>stale</source>
        <translation>quá hạn</translation>
    </message>
    <message>
        <source>streamed</source>
        <translation>tải theo ô</translation>
    </message>
    <message>
        <source>the project names no scene file and no layers</source>
        <translation>dự án không có tệp cảnh và không có lớp nào</translation>
    </message>
    <message>
        <source>time to glide from this keyframe to the next</source>
        <translation>thời gian chuyển từ khung hình này sang khung tiếp theo</translation>
    </message>
    <message>
        <source>triangles</source>
        <translation>tam giác</translation>
    </message>
    <message>
        <source>under construction</source>
        <translation>đang xây dựng</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>không rõ</translation>
    </message>
    <message>
        <source>warning</source>
        <translation>cảnh báo</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>có</translation>
    </message>
    <message>
        <source>{0} buildings checked: {1} violations by {2} buildings, {3} on no lot.</source>
        <translation>Đã kiểm tra {0} công trình: {1} vi phạm của {2} công trình, {3} không thuộc lô nào.</translation>
    </message>
    <message>
        <source>{0} days</source>
        <translation>{0} ngày</translation>
    </message>
    <message>
        <source>{0} features found</source>
        <translation>Tìm thấy {0} đối tượng</translation>
    </message>
    <message>
        <source>{0} h</source>
        <translation>{0} giờ</translation>
    </message>
    <message>
        <source>{0} landscape</source>
        <translation>{0} khổ ngang</translation>
    </message>
    <message>
        <source>{0} layers, {1} features — click a feature to inspect it</source>
        <translation>{0} lớp, {1} đối tượng — nhấp vào một đối tượng để xem thông tin</translation>
    </message>
    <message>
        <source>{0} lies {1} km from the rest of the scene: it is probably georeferenced elsewhere. Place it in the scene?</source>
        <translation>{0} cách phần còn lại của cảnh {1} km: có lẽ nó được tham chiếu địa lý ở nơi khác. Đặt nó vào cảnh?</translation>
    </message>
    <message>
        <source>{0} of {1}</source>
        <translation>{0} / {1}</translation>
    </message>
    <message>
        <source>{0} of {1} features shown, {2} selected</source>
        <translation>Hiển thị {0}/{1} đối tượng, đã chọn {2}</translation>
    </message>
    <message>
        <source>{0} points, sun-hours {1}–{2} h (mean {3} h)</source>
        <translation>{0} điểm, số giờ nắng {1}–{2} giờ (trung bình {3} giờ)</translation>
    </message>
    <message>
        <source>{0} sensors compared</source>
        <translation>So sánh {0} cảm biến</translation>
    </message>
    <message>
        <source>{0} without a footprint in the mesh: bounding boxes written</source>
        <translation>{0} đối tượng không có đường bao trong lưới: đã ghi hộp bao</translation>
    </message>
    <message>
        <source>{0} — streamed: {1} of {2} tiles loaded, {3} of {4} features</source>
        <translation>{0} — tải theo ô: đã tải {1}/{2} ô, {3}/{4} đối tượng</translation>
    </message>
    <message>
        <source>{0}: coordinates in the scene CRS {1}</source>
        <translation>{0}: tọa độ trong hệ quy chiếu của cảnh {1}</translation>
    </message>
    <message>
        <source>{0}: move the view and press 'Add current view'.</source>
        <translation>{0}: di chuyển góc nhìn rồi nhấn 'Thêm góc nhìn hiện tại'.</translation>
    </message>
    <message>
        <source>{0}: no data at this time.</source>
        <translation>{0}: không có dữ liệu tại thời điểm này.</translation>
    </message>
    <message>
        <source>{0}: no problems</source>
        <translation>{0}: không có sự cố</translation>
    </message>
    <message>
        <source>{0}: {1} keyframes, {2} s. 'Copy as TOML' to keep it in the scene file.</source>
        <translation>{0}: {1} khung hình chính, {2} giây. Nhấn 'Sao chép dạng TOML' để lưu vào tệp cảnh.</translation>
    </message>
    <message>
        <source>{0}: {1} problems</source>
        <translation>{0}: {1} sự cố</translation>
    </message>
    <message>
        <source>{0}: {1} problems, the first {2} listed</source>
        <translation>{0}: {1} sự cố, liệt kê {2} sự cố đầu tiên</translation>
    </message>
    <message>
        <source>… and {0} more</source>
        <translation>… và {0} sự cố khác</translation>
    </message>
</context>
</TS>
