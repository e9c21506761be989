import PanelCore
import XCTest

@testable import PanelImage

final class ImageDiffTests: XCTestCase {
    func rgb(_ w: Int, _ h: Int, _ pixels: [[UInt8]]) -> Canvas {
        Canvas(width: w, height: h, format: .rgb, bytes: pixels.flatMap { $0 }) ?? Canvas(width: 0, height: 0, format: .rgb)
    }

    func testIdenticalImagesMatch() {
        let a = noiseCanvas(width: 31, height: 17, format: .rgb)
        let r = ImageDiff.compare(a, a, tolerance: 0)
        XCTAssertEqual(r, ImageComparison(sizeMatches: true, differingPixels: 0, maxDelta: 0, firstDifference: nil))
        XCTAssertTrue(r.matches)
    }

    func testToleranceZeroAndTwo() {
        let expected = rgb(4, 2, [[10, 10, 10], [20, 20, 20], [30, 30, 30], [40, 40, 40],
                                  [50, 50, 50], [60, 60, 60], [70, 70, 70], [80, 80, 80]])
        var actual = expected
        actual.setPixel(x: 1, y: 0, [21, 20, 20])   // off by 1
        actual.setPixel(x: 3, y: 0, [40, 38, 40])   // off by 2
        actual.setPixel(x: 2, y: 1, [70, 70, 73])   // off by 3

        let strict = ImageDiff.compare(actual, expected, tolerance: 0)
        XCTAssertEqual(strict.differingPixels, 3)
        XCTAssertEqual(strict.maxDelta, 3)
        XCTAssertEqual(strict.firstDifference?.x, 1)
        XCTAssertEqual(strict.firstDifference?.y, 0)
        XCTAssertTrue(strict.sizeMatches)
        XCTAssertFalse(strict.matches)

        let loose = ImageDiff.compare(actual, expected, tolerance: 2)
        XCTAssertEqual(loose.differingPixels, 1)
        XCTAssertEqual(loose.maxDelta, 3)
        XCTAssertEqual(loose.firstDifference?.x, 2)
        XCTAssertEqual(loose.firstDifference?.y, 1)

        XCTAssertTrue(ImageDiff.compare(actual, expected, tolerance: 3).matches)
        XCTAssertEqual(ImageDiff.compare(actual, expected, tolerance: -5), strict)
    }

    func testGrayAgainstRGBComparesInRGB() {
        let gray = Canvas(width: 2, height: 1, format: .gray, bytes: [100, 200]) ?? Canvas(width: 0, height: 0, format: .gray)
        XCTAssertTrue(ImageDiff.compare(gray, rgb(2, 1, [[100, 100, 100], [200, 200, 200]]), tolerance: 0).matches)
        // Same luma, different colour: a gray comparison would miss this.
        let colour = rgb(2, 1, [[100, 100, 100], [200, 200, 201]])
        let r = ImageDiff.compare(colour, gray, tolerance: 0)
        XCTAssertEqual(r.differingPixels, 1)
        XCTAssertEqual(r.maxDelta, 1)
    }

    func testSizeMismatch() {
        let small = rgb(2, 1, [[0, 0, 0], [0, 0, 0]])
        let big = Canvas(width: 3, height: 2, format: .rgb)
        let r = ImageDiff.compare(small, big, tolerance: 0)
        XCTAssertFalse(r.sizeMatches)
        XCTAssertEqual(r.differingPixels, 4)  // 6 in the bounding box, 2 present in both and equal
        XCTAssertEqual(r.maxDelta, 0)
        XCTAssertEqual(r.firstDifference?.x, 2)
        XCTAssertEqual(r.firstDifference?.y, 0)
        XCTAssertFalse(r.matches)
    }

    func testDiffImageColours() {
        // expected 3x2; actual 2x3: (1,0) differs; column 2 and row 2 lie outside one image.
        let expected = rgb(3, 2, [[90, 90, 90], [255, 0, 0], [1, 2, 3],
                                  [0, 0, 0], [30, 60, 90], [9, 9, 9]])
        let actual = rgb(2, 3, [[90, 90, 90], [250, 0, 0],
                                [0, 0, 0], [31, 60, 90],
                                [5, 5, 5], [5, 5, 5]])
        let d = ImageDiff.diffImage(actual, expected, tolerance: 1)
        XCTAssertEqual(d.format, .rgb)
        XCTAssertEqual(d.width, 3)
        XCTAssertEqual(d.height, 3)
        let magenta: [UInt8] = [255, 0, 255]
        XCTAssertEqual(d.pixel(x: 0, y: 0), [30, 30, 30])        // luma 90 / 3
        XCTAssertEqual(d.pixel(x: 1, y: 0), [255, 0, 0])         // off by 5 > 1
        XCTAssertEqual(d.pixel(x: 2, y: 0), magenta)             // only in expected
        XCTAssertEqual(d.pixel(x: 0, y: 1), [0, 0, 0])
        // luma(30, 60, 90) = (8970 + 35220 + 10260 + 500) / 1000 = 54 → 18; off by 1 is within tolerance.
        XCTAssertEqual(d.pixel(x: 1, y: 1), [18, 18, 18])
        XCTAssertEqual(d.pixel(x: 2, y: 1), magenta)
        XCTAssertEqual(d.pixel(x: 0, y: 2), magenta)             // only in actual
        XCTAssertEqual(d.pixel(x: 2, y: 2), magenta)             // in neither
        let r = ImageDiff.compare(actual, expected, tolerance: 1)
        XCTAssertEqual(r.differingPixels, 1 + 5)
        XCTAssertEqual(r.maxDelta, 5)
    }

    func testDiffImageGrayExpected() {
        let expected = Canvas(width: 2, height: 1, format: .gray, bytes: [255, 3]) ?? Canvas(width: 0, height: 0, format: .gray)
        let actual = rgb(2, 1, [[255, 255, 255], [0, 0, 0]])
        let d = ImageDiff.diffImage(actual, expected, tolerance: 2)
        XCTAssertEqual(d.bytes, [85, 85, 85, 255, 0, 0])
        XCTAssertEqual(ImageDiff.diffImage(expected, expected, tolerance: 0).bytes, [85, 85, 85, 1, 1, 1])
    }

    func testRGBWAgainstRGBFoldsWhite() {
        let rgbw = Canvas(width: 1, height: 1, format: .rgbw, bytes: [100, 0, 250, 50]) ?? Canvas(width: 0, height: 0, format: .rgbw)
        XCTAssertTrue(ImageDiff.compare(rgbw, rgb(1, 1, [[150, 50, 255]]), tolerance: 0).matches)
        let other = Canvas(width: 1, height: 1, format: .rgbw, bytes: [100, 0, 250, 52]) ?? rgbw
        XCTAssertEqual(ImageDiff.compare(rgbw, other, tolerance: 0).maxDelta, 2)  // both RGBW: W compared directly
    }

    func testMalformedCanvasDoesNotCrash() {
        var broken = Canvas(width: 4, height: 4, format: .rgb)
        broken.bytes.removeLast(10)
        let r = ImageDiff.compare(broken, Canvas(width: 4, height: 4, format: .rgb), tolerance: 0)
        XCTAssertTrue(r.sizeMatches)
        XCTAssertEqual(ImageDiff.diffImage(broken, broken, tolerance: 0).bytes.count, 4 * 4 * 3)
        XCTAssertEqual(ImageDiff.compare(Canvas(width: 0, height: 0, format: .gray), Canvas(width: 0, height: 0, format: .rgb), tolerance: 0).matches, true)
    }
}
